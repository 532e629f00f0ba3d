package approval

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func stepSample(tb testing.TB) []byte {
	tb.Helper()
	return sample.Bytes(tb, "ami-approval-request", "workflow-step-waiting.json")
}

func TestParseStepWaitingSample(t *testing.T) {
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(stepSample(t), &ev); err != nil {
		t.Fatal(err)
	}
	got, err := ParseStepWaiting(ev)
	if err != nil {
		t.Fatalf("ParseStepWaiting(sample) error = %v", err)
	}
	want := StepWaiting{
		StepExecutionID: "step-a1b2c3d4-5678-90ab-cdef-0123456789ab", WorkflowExecutionID: "wf-a1b2c3d4-5678-90ab-cdef-0123456789ab",
		StepName: "ApproveImage", ImageARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.5/1",
		WorkflowARN: "arn:aws:imagebuilder:us-east-1:123456789012:workflow/build/approve-then-distribute/1.0.0/1",
		Region:      "us-east-1", Account: "123456789012",
	}
	if got != want {
		t.Errorf("ParseStepWaiting(sample) = %+v, want %+v", got, want)
	}
}

func TestStepStateTimedOut(t *testing.T) {
	started := time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)
	timesOut := started.Add(DefaultStepTimeout)
	tests := []struct {
		name  string
		state StepState
		want  bool
	}{
		{"waiting", StepState{Status: "WAITING", TimesOutAt: timesOut}, false},
		{"failed at the time-out", StepState{Status: "FAILED", Ended: timesOut, TimesOutAt: timesOut}, true},
		{"failed with a time-out message", StepState{Status: "FAILED", Message: "Step timed out", Ended: started.Add(time.Hour), TimesOutAt: timesOut}, true},
		{"stopped before the time-out", StepState{Status: "FAILED", Message: "Stopped", Ended: started.Add(time.Hour), TimesOutAt: timesOut}, false},
		{"resumed", StepState{Status: "COMPLETED", Ended: started.Add(time.Hour), TimesOutAt: timesOut}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.state.TimedOut(timesOut.Add(time.Hour)); got != tt.want {
				t.Errorf("TimedOut() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestStepClientTokenIsTheRequestsOwn(t *testing.T) {
	a := Request{id: requestPrefix + NewToken().hash()}
	b := Request{id: requestPrefix + NewToken().hash()}
	st := Step{ExecutionID: "step-a1b2c3d4-5678-90ab-cdef-0123456789ab"}
	ta, tb := stepClientToken(a, st), stepClientToken(b, st)
	if ta != stepClientToken(a, st) || ta == tb || len(ta) > 36 || len(ta) == 0 {
		t.Errorf("client tokens %q, %q: want stable per request, distinct between requests, 1 to 36 characters", ta, tb)
	}
	if strings.Contains(a.id, ta) {
		t.Errorf("client token %q is part of the request's key", ta)
	}
}

func FuzzParseStepWaiting(f *testing.F) {
	f.Add(stepSample(f))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev events.EventBridgeEvent
		if json.Unmarshal(raw, &ev) != nil {
			return
		}
		sw, err := ParseStepWaiting(ev)
		if err != nil {
			if !errors.Is(err, ErrNotStepWaiting) {
				t.Fatalf("error %v does not wrap ErrNotStepWaiting", err)
			}
			return
		}
		if !awsid.IsWorkflowStepExecutionID(sw.StepExecutionID) || !awsid.IsWorkflowExecutionID(sw.WorkflowExecutionID) ||
			!awsid.IsWorkflowStepName(sw.StepName) || !awsid.IsRegion(sw.Region) {
			t.Fatalf("accepted %+v", sw)
		}
		if _, err := awsid.ParseImageBuildVersionARN(sw.ImageARN); err != nil {
			t.Fatalf("accepted image ARN %q: %v", sw.ImageARN, err)
		}
	})
}
