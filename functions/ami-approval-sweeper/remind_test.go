package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
)

// waiting makes the request of a waiting step (step n of the sample's
// build) that started `ago` before now with the default 3-day time-out,
// and returns its token.
func waiting(t *testing.T, env *approvaltest.Env, n int, ago time.Duration) (approval.Token, string) {
	t.Helper()
	sw, err := approval.ParseStepWaiting(env.StepEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	sw.StepExecutionID = fmt.Sprintf("step-a1b2c3d4-5678-90ab-cdef-%012d", n)
	env.Built(sw.ImageARN)
	env.IB.PutStep(fakeimagebuilder.Step{ID: sw.StepExecutionID, WorkflowExecutionID: sw.WorkflowExecutionID, WorkflowARN: sw.WorkflowARN,
		ImageARN: sw.ImageARN, Name: sw.StepName, Started: time.Now().UTC().Add(-ago)})
	s := env.Settings("https://approvals.example.com/")
	r := &approval.Requester{
		Store: env.Store(env.Cfg), Builds: env.Builds(env.Cfg), EC2: env.Names(env.Cfg),
		SNS: env.SNS, ApproverTopicARN: s.ApproverTopicARN, ApprovalURL: s.ApprovalURL,
	}
	if res, err := r.HandleStep(context.Background(), sw); err != nil || res.Outcome != approval.Requested {
		t.Fatalf("make step request = %+v, %v", res, err)
	}
	mails := env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("approval emails = %d, want 1", len(mails))
	}
	tok, err := approval.ParseToken(linkPattern.FindStringSubmatch(mails[0].Body)[1])
	if err != nil {
		t.Fatal(err)
	}
	return tok, sw.StepExecutionID
}

// TestReminderOnceForUndecidedStepsNearTheirTimeOut: of three waiting
// steps, only the undecided one that times out within the lead (12 hours)
// gets a reminder, and only once.
func TestReminderOnceForUndecidedStepsNearTheirTimeOut(t *testing.T) {
	env := approvaltest.New(t)
	calls := awstest.NewCalls()
	h := newHandler(t, env, calls)
	_, near := waiting(t, env, 1, 3*24*time.Hour-6*time.Hour) // times out in 6 hours
	waiting(t, env, 2, 10*time.Minute)                        // times out in 3 days
	decided, _ := waiting(t, env, 3, 3*24*time.Hour-5*time.Hour)
	if _, err := h.decider.Decide(context.Background(), decided, approval.Reject, approval.Who{SourceIP: "203.0.113.9"}); err != nil {
		t.Fatalf("reject step 3: %v", err)
	}

	if _, err := h.Handle(context.Background(), scheduled(t)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	mails := env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("reminders = %d, want 1 (the undecided step near its time-out)", len(mails))
	}
	for _, want := range []string{"still paused", near, "times out", "This reminder is sent once"} {
		if !strings.Contains(mails[0].Body+mails[0].Subject, want) {
			t.Errorf("reminder does not say %q:\n%s\n%s", want, mails[0].Subject, mails[0].Body)
		}
	}
	if strings.Contains(mails[0].Body, "token=") {
		t.Errorf("reminder carries a link:\n%s", mails[0].Body)
	}

	// The next schedule: nothing again.
	calls.Reset()
	if _, err := h.Handle(context.Background(), scheduled(t)); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if n := len(env.Approver.Receive(t)); n != 0 {
		t.Errorf("reminders on the next sweep = %d, want 0", n)
	}
	if n := calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("Publish calls on the next sweep = %d, want 0", n)
	}
}

// TestReminderClaimedOnceUnderConcurrentSweeps: two sweeps at once send
// one reminder: the conditional write before publishing lets one win.
func TestReminderClaimedOnceUnderConcurrentSweeps(t *testing.T) {
	env := approvaltest.New(t)
	waiting(t, env, 1, 3*24*time.Hour-time.Hour)
	a, b := newHandler(t, env, awstest.NewCalls()), newHandler(t, env, awstest.NewCalls())
	done := make(chan []approval.Reminded, 2)
	for _, h := range []*handler{a, b} {
		go func() {
			sw, _ := h.decider.Sweep(context.Background())
			done <- sw.Reminded
		}()
	}
	var sent int
	for range 2 {
		for _, r := range <-done {
			if r.Error == "" {
				sent++
			}
		}
	}
	if n := len(env.Approver.Receive(t)); sent != 1 || n != 1 {
		t.Errorf("reminders sent = %d (emails %d), want 1", sent, n)
	}
}

func TestReminderLeadFromConfig(t *testing.T) {
	cfg, err := loadConfig(func(name string) (string, bool) {
		v, ok := map[string]string{
			"APPROVER_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:ami-approvers", "TARGET_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:ami-targets",
			"TARGET_ACCOUNT_IDS": "111111111111", "APPROVAL_URL": "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/",
			"DECISIONS_TABLE": "ami-approval-decisions", "STEP_REMINDER_LEAD": "24h",
			"PROOF_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
			"OPS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:lambda-suite-ops",
		}[name]
		return v, ok
	})
	if err != nil || cfg.ReminderLead != 24*time.Hour {
		t.Errorf("loadConfig(STEP_REMINDER_LEAD=24h) = %v, %v", cfg.ReminderLead, err)
	}
	_, err = loadConfig(func(name string) (string, bool) {
		if name == "STEP_REMINDER_LEAD" {
			return "8d", true
		}
		return "", false
	})
	if err == nil || !strings.Contains(err.Error(), "STEP_REMINDER_LEAD") {
		t.Errorf("loadConfig(STEP_REMINDER_LEAD=8d) error %v does not name it", err)
	}
}
