package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
)

// TestUnconfirmedStepDecisionIsSentOnce: an approver approved a paused
// build, but Image Builder failed the action and the approver went away:
// the decision is recorded "sending". Within the lease the sweep leaves it
// to the page; past it, the sweep sends it again with the decision's own
// client token, the step resumes once, and the outcome is recorded; the
// next sweep has nothing to do.
func TestUnconfirmedStepDecisionIsSentOnce(t *testing.T) {
	env := approvaltest.New(t)
	h := newHandler(t, env, awstest.NewCalls())
	tok, stepID := waiting(t, env, 1, 10*time.Minute)
	env.IB.Fail("SendWorkflowStepAction", fakeimagebuilder.APIError{Code: "ClientException", Message: "something went wrong"})
	if _, err := h.decider.Decide(context.Background(), tok, approval.Approve, approval.Who{SourceIP: "203.0.113.9"}); err == nil {
		t.Fatal("Decide while Image Builder fails = nil error, want the failure")
	}
	if req, _, err := h.decider.View(context.Background(), tok); err != nil || req.Outcome != approval.OutcomeSending {
		t.Fatalf("after the failed send: %+v, %v, want the decision recorded as sending", req, err)
	}

	// Within the lease: the approver's page may still be sending it.
	if _, err := h.Handle(context.Background(), scheduled(t)); err != nil {
		t.Fatalf("sweep within the lease: %v", err)
	}
	if n := env.IB.Count("SendWorkflowStepAction"); n != 1 {
		t.Errorf("actions sent within the lease = %d, want the page's one attempt only", n)
	}

	later := time.Now().Add(approval.SharingLease + time.Minute)
	h.decider.Now = func() time.Time { return later }
	if _, err := h.Handle(context.Background(), scheduled(t)); err != nil {
		t.Fatalf("sweep past the lease: %v", err)
	}
	if st, _ := env.IB.Step(stepID); st.Status != fakeimagebuilder.StepCompleted {
		t.Errorf("step = %s, want COMPLETED (resumed)", st.Status)
	}
	if req, _, err := h.decider.View(context.Background(), tok); err != nil || req.Outcome != approval.OutcomeResumed {
		t.Errorf("record after the sweep: %+v, %v, want resumed", req, err)
	}
	sent := env.IB.Calls("SendWorkflowStepAction")
	if len(sent) != 2 {
		t.Fatalf("actions sent = %d, want 2 (the page's failed one, the sweep's)", len(sent))
	}
	if first, last := clientToken(t, sent[0].Body), clientToken(t, sent[1].Body); first == "" || first != last {
		t.Errorf("client tokens %q and %q, want the decision's own on every attempt", first, last)
	}

	if _, err := h.Handle(context.Background(), scheduled(t)); err != nil {
		t.Fatalf("next sweep: %v", err)
	}
	if n := env.IB.Count("SendWorkflowStepAction"); n != 2 {
		t.Errorf("actions sent after the next sweep = %d, want still 2", n)
	}
}

func clientToken(t *testing.T, body []byte) string {
	t.Helper()
	var in struct{ ClientToken string }
	if err := json.Unmarshal(body, &in); err != nil {
		t.Fatal(err)
	}
	return in.ClientToken
}
