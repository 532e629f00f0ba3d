package approvaltest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

// StepEvent reads events/ami-approval-request/workflow-step-waiting.json,
// the waiting-step event as EventBridge delivers it.
func StepEvent(tb testing.TB) events.EventBridgeEvent {
	tb.Helper()
	return sample.Event[events.EventBridgeEvent](tb, "ami-approval-request", "workflow-step-waiting.json")
}

// StepEvent is the package's StepEvent as this account's Image Builder
// sends it (Own).
func (e *Env) StepEvent(tb testing.TB) events.EventBridgeEvent {
	tb.Helper()
	b, err := json.Marshal(StepEvent(tb))
	if err != nil {
		tb.Fatal(err)
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal([]byte(e.Own(string(b))), &ev); err != nil {
		tb.Fatal(err)
	}
	return ev
}

// Paused registers the build of a waiting-step event in the fake Image
// Builder (with the AMIs given, made so far) and its step, waiting since
// started for at most timeout (0: the default 3 days).
func (e *Env) Paused(tb testing.TB, ev events.EventBridgeEvent, started time.Time, timeout time.Duration, amis ...approval.AMI) approval.StepWaiting {
	tb.Helper()
	sw, err := approval.ParseStepWaiting(ev)
	if err != nil {
		tb.Fatalf("ParseStepWaiting: %v", err)
	}
	Pause(e.IB, sw, started, timeout, amis...)
	return sw
}

// Pause is Paused for any fake Image Builder and a parsed event, for
// callers without an Env (make bench).
func Pause(ib *fakeimagebuilder.Server, sw approval.StepWaiting, started time.Time, timeout time.Duration, amis ...approval.AMI) {
	Build(ib, sw.ImageARN, amis...)
	ib.PutStep(fakeimagebuilder.Step{
		ID: sw.StepExecutionID, WorkflowExecutionID: sw.WorkflowExecutionID, WorkflowARN: sw.WorkflowARN,
		ImageARN: sw.ImageARN, Name: sw.StepName, Message: "Waiting for approval before distribution",
		Started: started, TimeoutSeconds: int32(timeout / time.Second), // #nosec G115 -- a step times out within days
	})
}
