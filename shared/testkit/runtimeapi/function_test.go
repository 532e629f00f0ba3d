package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// echoPath is the test Lambda (testdata/echo), built once for the package.
var echoPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runtimeapi-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	echoPath = filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", echoPath, "./testdata/echo") // #nosec G204 -- builds the package's own test function
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build testdata/echo: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startEcho(t *testing.T, env ...string) *Function {
	t.Helper()
	f, err := Start(Config{Name: "echo", Path: echoPath, Env: env})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

type echoResponse struct {
	Echo         json.RawMessage `json:"echo"`
	Count        int             `json:"count"`
	RequestID    string          `json:"requestId"`
	FunctionARN  string          `json:"functionArn"`
	FunctionName string          `json:"functionName"`
	HasDeadline  bool            `json:"hasDeadline"`
	DeadlineIn   int64           `json:"deadlineInMs"`
	Env          string          `json:"env"`
	TraceID      string          `json:"traceId"`
}

func invoke(t *testing.T, f *Function, payload string, timeout time.Duration) (Result, error) {
	t.Helper()
	start := time.Now()
	res, err := f.Invoke(context.Background(), []byte(payload), timeout)
	// The point of the package: nothing ever hangs much past its timeout.
	if waited := time.Since(start); waited > timeout+5*time.Second {
		t.Errorf("Invoke(%s) took %s with a timeout of %s", payload, waited, timeout)
	}
	return res, err
}

func TestFunctionWarmInvocations(t *testing.T) {
	f := startEcho(t, "ECHO_ENV=from-caller")

	res, err := invoke(t, f, `{"echo":{"volumeId":"vol-1"},"log":"first line"}`, 10*time.Second)
	if err != nil {
		t.Fatalf("first Invoke: %v", err)
	}
	if res.FunctionError != nil {
		t.Fatalf("first Invoke function error = %v", res.FunctionError)
	}
	var got echoResponse
	if err := json.Unmarshal(res.Payload, &got); err != nil {
		t.Fatalf("response %s: %v", res.Payload, err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"echo", string(got.Echo), `{"volumeId":"vol-1"}`},
		{"count", got.Count, 1},
		{"requestId", got.RequestID, res.RequestID},
		{"functionArn", got.FunctionARN, "arn:aws:lambda:us-east-1:123456789012:function:echo"},
		{"functionName", got.FunctionName, "echo"},
		{"hasDeadline", got.HasDeadline, true},
		{"env", got.Env, "from-caller"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("response %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if got.DeadlineIn <= 0 || got.DeadlineIn > 10_000 {
		t.Errorf("deadlineInMs = %d, want within the 10s timeout", got.DeadlineIn)
	}
	if !strings.HasPrefix(got.TraceID, "Root=1-") {
		t.Errorf("_X_AMZN_TRACE_ID = %q, want the trace header", got.TraceID)
	}
	if !strings.Contains(string(res.Log), "first line") {
		t.Errorf("Log = %q, want the handler's line", res.Log)
	}

	res, err = invoke(t, f, `{"fail":"volume vol-1 not found"}`, 10*time.Second)
	if err != nil {
		t.Fatalf("failing Invoke: %v", err)
	}
	if want := (FunctionError{Type: "errorString", Message: "volume vol-1 not found"}); res.FunctionError == nil || *res.FunctionError != want {
		t.Errorf("FunctionError = %v, want %v", res.FunctionError, want)
	}

	res, err = invoke(t, f, `{}`, 10*time.Second)
	if err != nil {
		t.Fatalf("third Invoke: %v", err)
	}
	if err := json.Unmarshal(res.Payload, &got); err != nil || got.Count != 3 {
		t.Errorf("third response = %s, want count 3 from the same warm process", res.Payload)
	}
}

func TestFunctionFailures(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		payload string
		timeout time.Duration
		wantErr error
		wantFE  string // a function error type, reported before the process exits
		wantLog string
	}{
		{name: "exits mid-invocation", payload: `{"log":"about to exit","exit":3}`, wantErr: ErrExited, wantLog: "about to exit"},
		{name: "panics", payload: `{"panic":"nil map"}`, wantFE: "string", wantErr: ErrExited},
		{name: "times out", payload: `{"sleep":"1m"}`, timeout: 300 * time.Millisecond, wantErr: ErrTimeout},
		{name: "exits during init", env: []string{"ECHO_INIT=exit"}, payload: `{}`, wantErr: ErrExited, wantLog: "giving up"},
		{name: "reports an init error", env: []string{"ECHO_INIT=error"}, payload: `{}`, wantErr: &InitError{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startEcho(t, tt.env...)
			if tt.timeout == 0 {
				tt.timeout = 10 * time.Second
			}
			res, err := invoke(t, f, tt.payload, tt.timeout)
			if tt.wantFE != "" {
				if err != nil || res.FunctionError == nil || res.FunctionError.Type != tt.wantFE {
					t.Fatalf("Invoke(%s) = %v, %v; want function error %s", tt.payload, res.FunctionError, err, tt.wantFE)
				}
				// The runtime exits after a panic; the next call says so.
				res, err = invoke(t, f, `{}`, tt.timeout)
			}
			var initErr *InitError
			switch {
			case errors.As(tt.wantErr, &initErr):
				if !errors.As(err, &initErr) || initErr.Type != "Config.Invalid" {
					t.Errorf("Invoke(%s) error = %v, want the posted init error", tt.payload, err)
				}
			case !errors.Is(err, tt.wantErr):
				t.Errorf("Invoke(%s) error = %v, want %v", tt.payload, err, tt.wantErr)
			}
			if !strings.Contains(string(res.Log), tt.wantLog) {
				t.Errorf("Invoke(%s) Log = %q, want it to contain %q", tt.payload, res.Log, tt.wantLog)
			}
			// The environment is gone; later calls fail at once.
			if _, err := invoke(t, f, `{}`, tt.timeout); !errors.Is(err, ErrExited) {
				t.Errorf("Invoke after failure error = %v, want %v", err, ErrExited)
			}
		})
	}
}

func TestFunctionClose(t *testing.T) {
	f := startEcho(t)
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := invoke(t, f, `{}`, time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("Invoke after Close error = %v, want %v", err, ErrClosed)
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
