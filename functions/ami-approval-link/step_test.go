package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
)

const (
	stepBuild = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.5/1"
	stepID    = "step-a1b2c3d4-5678-90ab-cdef-0123456789ab"
)

// paused makes the request of the sample waiting step, which started
// `ago` before now and times out after timeout (0: 3 days), as the request
// function makes it, and returns the token from its email.
func (f *fixture) paused(t *testing.T, ago, timeout time.Duration) string {
	t.Helper()
	f.env.Paused(t, f.env.StepEvent(t), time.Now().UTC().Add(-ago), timeout)
	sr := f.requests
	sw, err := approval.ParseStepWaiting(f.env.StepEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := sr.HandleStep(context.Background(), sw); err != nil || res.Outcome != approval.Requested {
		t.Fatalf("make step request = %+v, %v", res, err)
	}
	token := f.emailedToken(t)
	f.env.IB.ResetCalls()
	return token
}

// sent lists the actions the fake received, with their client tokens.
func (f *fixture) sent(t *testing.T) (actions, tokens []string) {
	t.Helper()
	build := f.env.Own(stepBuild)
	for _, c := range f.env.IB.Calls("SendWorkflowStepAction") {
		var in struct{ StepExecutionID, ImageBuildVersionArn, Action, Reason, ClientToken string }
		if err := json.Unmarshal(c.Body, &in); err != nil {
			t.Fatal(err)
		}
		if in.StepExecutionID != stepID || in.ImageBuildVersionArn != build {
			t.Errorf("SendWorkflowStepAction for %s of %s, want %s of %s", in.StepExecutionID, in.ImageBuildVersionArn, stepID, build)
		}
		actions, tokens = append(actions, in.Action), append(tokens, in.ClientToken)
	}
	return actions, tokens
}

func TestStepGetShowsThePausedBuildAndSendsNothing(t *testing.T) {
	f := newFixture(t, approvalURL)
	token := f.paused(t, 10*time.Minute, 0)
	f.calls.Reset()
	for range 3 {
		resp := f.serve(t, linkEvent(t, "get.json", token))
		checkHeaders(t, resp)
		if resp.StatusCode != http.StatusOK || pageTitle(resp) != "Resume this paused build?" {
			t.Fatalf("GET = %d %q, want 200 with the buttons\n%s", resp.StatusCode, pageTitle(resp), resp.Body)
		}
		for _, want := range []string{"Approve and resume", "Reject and stop", "ApproveImage", stepID, "Step times out", f.env.Own(stepBuild)} {
			if !strings.Contains(resp.Body, want) {
				t.Errorf("GET page does not show %q", want)
			}
		}
		if strings.Contains(resp.Body, "111111111111") {
			t.Errorf("the page of a step-bound request names the SNS flow's targets")
		}
	}
	if n := f.env.IB.Count(""); n != 0 {
		t.Errorf("Image Builder calls on GET = %d, want 0", n)
	}
	if n := f.calls.Count("DynamoDB.UpdateItem") + f.calls.Count("DynamoDB.PutItem"); n != 0 {
		t.Errorf("writes on GET = %d, want 0", n)
	}
}

func TestStepApproveResumesOnce(t *testing.T) {
	f := newFixture(t, approvalURL)
	token := f.paused(t, 10*time.Minute, 0)
	f.calls.Reset()

	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" || pageTitle(resp) != "Build approved: the workflow resumed" {
		t.Fatalf("POST approve = %d %q %q\n%s", resp.StatusCode, pageTitle(resp), pageOutcome(resp), resp.Body)
	}
	if actions, _ := f.sent(t); strings.Join(actions, ",") != "RESUME" {
		t.Errorf("actions sent = %v, want exactly one RESUME", actions)
	}
	if st, _ := f.env.IB.Step(stepID); st.Status != fakeimagebuilder.StepCompleted || !strings.Contains(st.Reason, "approved on the AMI approval page") {
		t.Errorf("step after approve = %s %q, want COMPLETED with the decision's reason", st.Status, st.Reason)
	}
	if n := f.calls.Count("EC2.ModifyImageAttribute") + f.calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("ModifyImageAttribute and Publish calls = %d, want 0: the workflow distributes", n)
	}
	rec := f.requestRecord(t, token)
	if got := stringAttr(rec, "outcome"); got != approval.OutcomeResumed || stringAttr(rec, "stepActionSentAt") == "" {
		t.Errorf("record outcome %q, stepActionSentAt %q; want %s and a time", got, stringAttr(rec, "stepActionSentAt"), approval.OutcomeResumed)
	}

	// A second POST (a double click, a retried request): nothing sent again.
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, "decided before: nothing was sent now") {
		t.Errorf("second POST = %d %q, want the recorded decision", resp.StatusCode, pageTitle(resp))
	}
	if n := f.env.IB.Count("SendWorkflowStepAction"); n != 1 {
		t.Errorf("SendWorkflowStepAction calls after a second POST = %d, want 1", n)
	}
}

func TestStepRejectStopsThenApproveSendsNothing(t *testing.T) {
	f := newFixture(t, approvalURL)
	token := f.paused(t, 10*time.Minute, 0)

	resp := f.serve(t, linkEvent(t, "post-reject.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "rejected" {
		t.Fatalf("POST reject = %d %q\n%s", resp.StatusCode, pageOutcome(resp), resp.Body)
	}
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "rejected" {
		t.Errorf("POST approve after reject = %d %q, want the recorded rejection", resp.StatusCode, pageOutcome(resp))
	}
	if actions, _ := f.sent(t); strings.Join(actions, ",") != "STOP" {
		t.Errorf("actions sent = %v, want exactly one STOP", actions)
	}
	if st, _ := f.env.IB.Step(stepID); st.Status != fakeimagebuilder.StepFailed || st.Sent != "STOP" {
		t.Errorf("step = %+v, want stopped", st)
	}
	if got := stringAttr(f.requestRecord(t, token), "outcome"); got != approval.OutcomeStopped {
		t.Errorf("record outcome = %q, want %s", got, approval.OutcomeStopped)
	}
}

// TestStepTimedOutSaysSo: the step's own time-out (an hour here) passed
// while the link still works: the page says so plainly, nothing is sent,
// and the record says the same.
func TestStepTimedOutSaysSo(t *testing.T) {
	f := newFixture(t, approvalURL)
	token := f.paused(t, 10*time.Minute, time.Hour)
	f.env.IB.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } // Image Builder's clock: timed out
	f.h.decider.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	f.h.Now = f.h.decider.Now

	get := f.serve(t, linkEvent(t, "get.json", token))
	if get.StatusCode != http.StatusOK || pageTitle(get) != "The approval step of this build timed out" || strings.Contains(get.Body, "Approve and resume") {
		t.Errorf("GET after the time-out = %d %q, want 200 saying it timed out, without buttons\n%s", get.StatusCode, pageTitle(get), get.Body)
	}
	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageTitle(resp) != "The approval step of this build had timed out" || !strings.Contains(resp.Body, "nothing was sent to Image Builder") {
		t.Errorf("POST after the time-out = %d %q, want 200 saying so\n%s", resp.StatusCode, pageTitle(resp), resp.Body)
	}
	if n := f.env.IB.Count("SendWorkflowStepAction"); n != 0 {
		t.Errorf("SendWorkflowStepAction calls = %d, want 0", n)
	}
	rec := f.requestRecord(t, token)
	if stringAttr(rec, "outcome") != approval.OutcomeTimedOut || !strings.Contains(stringAttr(rec, "reason"), "timed out") || stringAttr(rec, "decision") != approval.Approve {
		t.Errorf("record = outcome %q reason %q decision %q, want %s with the reason", stringAttr(rec, "outcome"), stringAttr(rec, "reason"), stringAttr(rec, "decision"), approval.OutcomeTimedOut)
	}
}

func TestStepActedOnElsewhereSaysSo(t *testing.T) {
	f := newFixture(t, approvalURL)
	token := f.paused(t, 10*time.Minute, 0)
	// Someone resumed it from the console before the page was used.
	st, _ := f.env.IB.Step(stepID)
	st.Status, st.Sent = fakeimagebuilder.StepCompleted, "RESUME"
	f.env.IB.PutStep(st)

	resp := f.serve(t, linkEvent(t, "post-reject.json", token))
	if resp.StatusCode != http.StatusOK || pageTitle(resp) != "The step was already decided elsewhere" {
		t.Errorf("POST = %d %q\n%s", resp.StatusCode, pageTitle(resp), resp.Body)
	}
	if n := f.env.IB.Count("SendWorkflowStepAction"); n != 0 {
		t.Errorf("SendWorkflowStepAction calls = %d, want 0", n)
	}
	if got := stringAttr(f.requestRecord(t, token), "outcome"); got != approval.OutcomeClosed {
		t.Errorf("record outcome = %q, want %s", got, approval.OutcomeClosed)
	}
}

// TestStepRetryAfterAnErrorSendsWithTheSameToken: Image Builder failed the
// first send; the recorded decision is sent again from the page, with the
// same client token, and acted on once.
func TestStepRetryAfterAnErrorSendsWithTheSameToken(t *testing.T) {
	f := newFixture(t, approvalURL)
	token := f.paused(t, 10*time.Minute, 0)
	f.env.IB.Fail("SendWorkflowStepAction", fakeimagebuilder.APIError{Code: "ClientException", Message: "something went wrong"})

	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("POST while Image Builder fails = %d, want 503", resp.StatusCode)
	}
	if got := stringAttr(f.requestRecord(t, token), "outcome"); got != approval.OutcomeSending {
		t.Fatalf("record outcome = %q, want %s", got, approval.OutcomeSending)
	}
	get := f.serve(t, linkEvent(t, "get.json", token))
	if !strings.Contains(get.Body, "Send the decision again") || !strings.Contains(get.Body, `value="approve"`) {
		t.Errorf("GET of an unconfirmed decision offers no resend\n%s", get.Body)
	}
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" {
		for _, c := range f.env.IB.Calls("") {
			t.Logf("%s %s %s", c.Op, c.Error, c.Body)
		}
		t.Fatalf("retry POST = %d %q\n%s", resp.StatusCode, pageOutcome(resp), resp.Body)
	}
	actions, tokens := f.sent(t)
	if len(tokens) < 2 || tokens[0] != tokens[len(tokens)-1] {
		t.Errorf("client tokens = %v, want the same on every attempt", tokens)
	}
	for _, a := range actions {
		if a != "RESUME" {
			t.Errorf("actions = %v, want RESUME only", actions)
		}
	}
	if st, _ := f.env.IB.Step(stepID); st.Status != fakeimagebuilder.StepCompleted {
		t.Errorf("step = %s, want COMPLETED", st.Status)
	}
}
