package coldstart

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"

	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Every function's main builds its logger with lambdacontext.NewLogger().
// Under the JSON log format the stacks and template.yaml set (Lambda passes
// it as AWS_LAMBDA_LOG_FORMAT=JSON), each line it writes is one JSON object
// carrying the invocation's request ID. The format is read when the package
// starts, so the check runs in a child process with the variable set.
func TestLambdaLoggerWritesJSONWithTheRequestID(t *testing.T) {
	if os.Getenv("COLDSTART_LOGGER_CHILD") == "1" {
		ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "req-0123"})
		lambdacontext.NewLogger().InfoContext(ctx, "decision", "volumeId", "vol-1")
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestLambdaLoggerWritesJSONWithTheRequestID$") //nolint:gosec // G204: this test binary itself, with a fixed -test.run
	cmd.Env = append(os.Environ(), "COLDSTART_LOGGER_CHILD=1", "AWS_LAMBDA_LOG_FORMAT=JSON")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	line, _, _ := bytes.Cut(out, []byte("\n"))
	var rec map[string]any
	if err := json.Unmarshal(line, &rec); err != nil {
		t.Fatalf("log line %q is not JSON: %v", line, err)
	}
	if rec["requestId"] != "req-0123" || rec["message"] != "decision" || rec["volumeId"] != "vol-1" {
		t.Errorf("log line = %v, want requestId req-0123, message decision, volumeId vol-1", rec)
	}
}
