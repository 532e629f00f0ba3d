package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// paused walks the workflow mode: a build paused at its workflow's
// WaitForAction step is emailed for approval, the approvers are reminded
// once before the step times out, and Approve on the page resumes the step
// in the fake Image Builder, which shares nothing itself.
func (a *approvalRun) paused(ctx context.Context, request, sweeper *runtimeapi.Function) error {
	r := a.r
	event, err := r.event("ami-approval-request", "workflow-step-waiting.json")
	if err != nil {
		return err
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(event, &ev); err != nil {
		return err
	}
	sw, err := approval.ParseStepWaiting(ev)
	if err != nil {
		return err
	}
	// Waiting since 2 days 18 hours with the default 3-day time-out: it
	// times out in 6 hours, within the reminder's 12-hour lead.
	started := time.Now().UTC().Add(-(fakeimagebuilder.DefaultStepTimeout - 6*time.Hour))
	a.ib.PutImage(fakeimagebuilder.Image{ARN: sw.ImageARN, Name: "golden-al2023", Version: "1.0.5", Status: "TESTING", Created: started})
	a.ib.PutStep(fakeimagebuilder.Step{ID: sw.StepExecutionID, WorkflowExecutionID: sw.WorkflowExecutionID, WorkflowARN: sw.WorkflowARN,
		ImageARN: sw.ImageARN, Name: sw.StepName, Message: "Waiting for approval before distribution", Started: started})
	a.ib.ResetCalls()

	r.step("the workflow mode: build %s paused at its WaitForAction step %s (workflow-step-waiting.json)", sw.ImageARN, sw.StepName)
	if _, err := r.invoke(ctx, request, event); err != nil {
		return err
	}
	mails, err := a.approver.Read(ctx)
	if err != nil {
		return err
	}
	r.check(a.ib.Count("GetWorkflowStepExecution") == 1, "the request function asked Image Builder for the step (GetWorkflowStepExecution calls %d)", a.ib.Count("GetWorkflowStepExecution"))
	r.check(len(mails) == 1, "the approvers got 1 email (found %d)", len(mails))
	if len(mails) == 0 {
		return errors.New("no approval email for the paused build")
	}
	r.check(strings.Contains(mails[0].Body, "paused this build") && strings.Contains(mails[0].Body, "Step times out: "),
		"the email says the build is paused and when the step times out")
	a.printMail("email to the approvers", mails[0])
	linkURL := approvalLink.FindString(mails[0].Body)
	if linkURL == "" {
		return errors.New("no link in the approval email")
	}

	r.step("EventBridge delivers the same event again")
	if _, err := r.invoke(ctx, request, event); err != nil {
		return err
	}
	if mails, err = a.approver.Read(ctx); err != nil {
		return err
	}
	r.check(len(mails) == 0, "no second email (found %d)", len(mails))

	schedule, err := r.event("ami-approval-sweeper", "scheduled.json")
	if err != nil {
		return err
	}
	for i := range 2 {
		r.step("the sweeper's schedule fires (scheduled.json), %s time since the step was asked about", []string{"first", "second"}[i])
		res, err := sweeper.Invoke(ctx, schedule, invokeTimeout)
		a.printLog(res.Log)
		r.result(res)
		if err != nil {
			return err
		}
		if mails, err = a.approver.Read(ctx); err != nil {
			return err
		}
		if i == 0 {
			r.check(len(mails) == 1 && strings.HasPrefix(mails[0].Subject, "Reminder: "), "the approvers got 1 reminder: the step times out within 12 hours (found %d)", len(mails))
			for _, m := range mails {
				a.printMail("reminder to the approvers", m)
			}
			continue
		}
		r.check(len(mails) == 0, "no second reminder (found %d)", len(mails))
	}

	r.step("the approver opens the link (GET)")
	page, err := a.fetch(ctx, http.MethodGet, linkURL, nil)
	if err != nil {
		return err
	}
	r.check(page.status == http.StatusOK && strings.Contains(page.body, "Approve and resume") && strings.Contains(page.body, sw.StepExecutionID),
		"200, the page names the step and offers Approve and resume / Reject and stop")
	r.check(a.ib.Count("SendWorkflowStepAction") == 0, "nothing was sent to Image Builder")

	token := linkURL[strings.Index(linkURL, "=")+1:]
	form := url.Values{"token": {token}, "decision": {approval.Approve}}
	r.step("the approver presses Approve (POST)")
	if page, err = a.fetch(ctx, http.MethodPost, a.page, form); err != nil {
		return err
	}
	st, _ := a.ib.Step(sw.StepExecutionID)
	r.check(page.status == http.StatusOK && page.outcome == "shared", "200, the page says the workflow resumed (outcome %q)", page.outcome)
	r.check(a.ib.Count("SendWorkflowStepAction") == 1 && st.Sent == "RESUME", "one SendWorkflowStepAction(RESUME) (calls %d, sent %q)", a.ib.Count("SendWorkflowStepAction"), st.Sent)
	r.check(st.Status == fakeimagebuilder.StepCompleted, "the fake Image Builder resumed the workflow: step %s (reason %q)", st.Status, st.Reason)

	r.step("a second Approve (a double click)")
	if page, err = a.fetch(ctx, http.MethodPost, a.page, form); err != nil {
		return err
	}
	r.check(strings.Contains(page.body, "nothing was sent now") && a.ib.Count("SendWorkflowStepAction") == 1,
		"the page shows the recorded decision; nothing sent again (calls %d)", a.ib.Count("SendWorkflowStepAction"))
	notices, err := a.target.Read(ctx)
	if err != nil {
		return err
	}
	r.check(len(notices) == 0, "no notice from the suite to the targets: the workflow's distribution shares (found %d)", len(notices))
	return nil
}
