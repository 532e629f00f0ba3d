package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func rawSample(t *testing.T, name string) json.RawMessage {
	t.Helper()
	return samples.Bytes(t, "ami-approval-request", name)
}

// rawStep is the waiting-step sample as this account's Image Builder
// sends it (approvaltest.Env.Own).
func (f fixture) rawStep(t *testing.T) json.RawMessage {
	t.Helper()
	return json.RawMessage(f.env.Own(string(rawSample(t, "workflow-step-waiting.json"))))
}

func TestWaitingStepEmailsOneLink(t *testing.T) {
	f := newFixture(t)
	ev := f.env.StepEvent(t)
	started := time.Now().UTC().Add(-10 * time.Minute)
	f.env.Paused(t, ev, started, 0)

	out, err := f.h.Invoke(context.Background(), f.rawStep(t))
	res, ok := out.(approval.RequestResult)
	if err != nil || !ok || res.Outcome != approval.Requested {
		t.Fatalf("Invoke(waiting step) = %+v, %v; want %s", out, err, approval.Requested)
	}
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("approver emails = %d, want 1", len(mails))
	}
	mail := mails[0]
	if want := "Approve AMI build golden-al2023 1.0.5/1: paused, waiting for you"; mail.Subject != want {
		t.Errorf("subject = %q, want %q", mail.Subject, want)
	}
	timesOut := started.Add(fakeimagebuilder.DefaultStepTimeout).Format(time.RFC1123)
	for _, want := range []string{
		"paused this build at its WaitForAction step",
		f.env.Own("arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.5/1"),
		"Step:    ApproveImage (step-a1b2c3d4-5678-90ab-cdef-0123456789ab)",
		"Message: Waiting for approval before distribution",
		"Step times out: " + timesOut,
		"Approve resumes the workflow",
		"Request: " + res.Ref,
	} {
		if !strings.Contains(mail.Body, want) {
			t.Errorf("email does not say %q:\n%s", want, mail.Body)
		}
	}
	if linkPattern.FindStringSubmatch(mail.Body) == nil {
		t.Errorf("email has no link:\n%s", mail.Body)
	}
	if n := f.env.IB.Count("GetWorkflowStepExecution"); n != 1 {
		t.Errorf("GetWorkflowStepExecution calls = %d, want 1 (Image Builder is asked, the event is a hint)", n)
	}
	if n := f.env.IB.Count("SendWorkflowStepAction"); n != 0 {
		t.Errorf("SendWorkflowStepAction calls = %d, want 0 before any decision", n)
	}

	// EventBridge delivers at least once: the same event again.
	f.calls.Reset()
	out, err = f.h.Invoke(context.Background(), f.rawStep(t))
	if res, _ := out.(approval.RequestResult); err != nil || res.Outcome != approval.Duplicate {
		t.Errorf("Invoke(redelivered) = %+v, %v; want %s", out, err, approval.Duplicate)
	}
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("emails after redelivery = %d, want 0", n)
	}
	if n := f.calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("Publish calls on redelivery = %d, want 0", n)
	}
}

func TestStepNoLongerWaitingAsksNothing(t *testing.T) {
	f := newFixture(t)
	ev := f.env.StepEvent(t)
	// Started four days ago with the default 3-day time-out: timed out.
	f.env.Paused(t, ev, time.Now().Add(-96*time.Hour), 0)
	res, err := f.h.HandleStep(context.Background(), ev)
	if err != nil || res.Outcome != approval.StepNotWaiting {
		t.Fatalf("HandleStep(timed-out step) = %+v, %v; want %s", res, err, approval.StepNotWaiting)
	}
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("emails = %d, want 0", n)
	}
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, "id=request#") {
			t.Errorf("a step that no longer waits made a request: %s", item)
		}
	}
}

func TestStepEventsRefusedByShape(t *testing.T) {
	f := newFixture(t)
	tests := []struct{ name, from, to string }{
		{"another detail type", `"EC2 Image Builder Workflow Step Waiting"`, `"EC2 Image Builder Image State Change"`},
		{"a step ID not of its shape", `"step-a1b2c3d4-5678-90ab-cdef-0123456789ab"`, `"step-1"`},
		{"no build ARN", `"arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.5/1",`, ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := strings.Replace(string(rawSample(t, "workflow-step-waiting.json")), tt.from, tt.to, 1)
			out, err := f.h.Invoke(context.Background(), json.RawMessage(raw))
			if res, _ := out.(approval.RequestResult); err != nil || res.Outcome != approval.NotAnImage || res.Reason == "" {
				t.Errorf("Invoke = %+v, %v; want refused with a reason", out, err)
			}
		})
	}
	if n := f.env.IB.Count(""); n != 0 {
		t.Errorf("Image Builder calls = %d, want 0 for refused events", n)
	}
}

// TestInvokeTakesSNSAsBefore: the SNS trigger reaches the same Handle.
func TestInvokeTakesSNSAsBefore(t *testing.T) {
	f := newFixture(t)
	ev := f.built(t, sample(t, "available-single-region.json"))
	raw, _ := json.Marshal(ev)
	out, err := f.h.Invoke(context.Background(), raw)
	res, ok := out.([]approval.RequestResult)
	if err != nil || !ok || len(res) != 1 || res[0].Outcome != approval.Requested {
		t.Fatalf("Invoke(SNS) = %+v, %v; want one %s", out, err, approval.Requested)
	}
	if n := f.env.IB.Count("GetWorkflowStepExecution"); n != 0 {
		t.Errorf("GetWorkflowStepExecution calls in the SNS flow = %d, want 0", n)
	}
}
