package approval

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder/types"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// decideStep is the workflow flow's decision, on a request bound to a
// step. The first decision wins, as in the SNS flow; Approve then sends
// RESUME to the step and Reject STOP, once: the client token is derived
// from the request, so a retried POST (after a lost answer) asks Image
// Builder for the first answer again rather than acting twice, and no
// request can send two different actions. Nothing is shared here: the
// workflow's distribution shares the AMIs.
//
// A step that no longer waits (it timed out, or was resumed or stopped
// elsewhere) gets nothing: the decision is recorded with that outcome and
// the page says so.
func (d *Decider) decideStep(run *deadline.Run, t Token, req Request, st Step, decision string, who Who) (Result, error) {
	work := run.Work()
	done, cancel := run.Finish()
	defer cancel()
	now := d.now()
	audit := Audit{Ref: req.Ref, ImageARN: req.ImageARN, Action: decision, Who: who, At: now, AMIs: req.AMIs, Checked: describedByEC2(req.AMIs)}
	unsealed, err := d.Store.verify(work, req, &st)
	if err != nil {
		return Result{}, d.auditError(done, audit, err)
	}
	switch {
	case req.Decided() && req.Outcome == OutcomeSending && !unsealed:
		// The action was not confirmed (an error, or a lost write): send
		// the recorded decision's action again, with the same client token.
		audit.Repeated = decision != req.Decision
		res, err := d.send(run, req, st, audit)
		res.Repeated = audit.Repeated
		return res, err
	case req.Decided():
		return d.repeated(done, t, audit)
	case req.Expired(now):
		audit.Outcome = "expired"
		d.audit(done, audit)
		return Result{Request: req}, ErrExpired
	}

	state, err := getStep(work, d.Builds, st.Region, st.ExecutionID)
	if err != nil {
		return Result{Request: req}, d.auditError(done, audit, err)
	}
	req.Decision, req.DecidedAt, req.DecidedBy = decision, now.UTC().Truncate(time.Second), who
	req.Outcome = OutcomeSending
	if !state.Found || state.ImageARN != req.ImageARN || !state.Waiting() {
		req.Outcome, req.Reason = notWaiting(state, st, now)
	}
	if err := d.Store.recordDecision(work, req, &st, now); errors.Is(err, errConflict) {
		return d.repeated(done, t, audit)
	} else if err != nil {
		return Result{Request: req}, d.auditError(done, audit, err)
	}
	if req.Outcome != OutcomeSending {
		audit.Outcome = req.Outcome + ": " + req.Reason
		d.audit(done, audit)
		return Result{Request: req}, nil
	}
	return d.send(run, req, st, audit)
}

// send sends the recorded decision's action to the step and records what
// came of it. An answer that the step no longer waits is an outcome, not an
// error; any other error leaves the record "sending", for a retry.
func (d *Decider) send(run *deadline.Run, req Request, st Step, audit Audit) (Result, error) {
	work := run.Work()
	done, cancel := run.Finish()
	defer cancel()
	action := types.WorkflowStepActionTypeStop
	if req.Decision == Approve {
		action = types.WorkflowStepActionTypeResume
	}
	_, err := d.Builds.In(st.Region).SendWorkflowStepAction(work, &imagebuilder.SendWorkflowStepActionInput{
		StepExecutionId:      aws.String(st.ExecutionID),
		ImageBuildVersionArn: aws.String(req.ImageARN),
		Action:               action,
		Reason:               aws.String(stepReason(req)),
		ClientToken:          aws.String(stepClientToken(req, st)),
	})
	now := d.now()
	var sentAt time.Time
	switch {
	case err == nil:
		sentAt, req.Reason = now, ""
		req.Outcome = OutcomeStopped
		if action == types.WorkflowStepActionTypeResume {
			req.Outcome = OutcomeResumed
		}
		d.logger().InfoContext(work, "workflow step acted on", "ref", req.Ref, "stepExecutionId", st.ExecutionID, "action", string(action))
	case hasCode(err, "InvalidRequestException", "ResourceInUseException", "ResourceNotFoundException"):
		// "The request fails if the step has already timed out or been
		// actioned": ask Image Builder which.
		state, gerr := getStep(done, d.Builds, st.Region, st.ExecutionID)
		if gerr != nil {
			d.logger().ErrorContext(work, "action refused, and the step could not be read", "ref", req.Ref, "error", err.Error(), "readError", gerr.Error())
			return Result{Request: req}, d.auditError(done, audit, err)
		}
		if state.Waiting() {
			// Refused for another reason while the step waits: the
			// record stays "sending" and a retry sends again.
			d.logger().ErrorContext(work, "action refused while the step waits", "ref", req.Ref, "error", err.Error())
			return Result{Request: req}, d.auditError(done, audit, err)
		}
		req.Outcome, req.Reason = notWaiting(state, st, now)
	default:
		d.logger().ErrorContext(work, "action not sent; the approver can retry", "ref", req.Ref, "stepExecutionId", st.ExecutionID, "error", err.Error())
		return Result{Request: req}, d.auditError(done, audit, fmt.Errorf("send %s to step %s: %w", action, st.ExecutionID, err))
	}
	req.UpdatedAt = now
	if err := d.Store.finishStep(done, req, sentAt, now); err != nil {
		// Image Builder has the action; a retry asks it again with the
		// same client token and records then.
		d.logger().ErrorContext(work, "outcome not recorded", "ref", req.Ref, "outcome", req.Outcome, "error", err.Error())
	}
	audit.Outcome = req.Outcome
	if req.Reason != "" {
		audit.Outcome += ": " + req.Reason
	}
	d.audit(done, audit)
	return Result{Request: req}, nil
}

// notWaiting names why a step can no longer be acted on.
func notWaiting(state StepState, st Step, now time.Time) (outcome, reason string) {
	switch {
	case !state.Found:
		return OutcomeClosed, fmt.Sprintf("Image Builder no longer knows step %s", st.ExecutionID)
	case state.TimedOut(now) || (state.Status == "FAILED" && !now.Before(st.TimesOutAt)):
		return OutcomeTimedOut, fmt.Sprintf("the workflow step timed out at %s before a decision; nothing was sent to Image Builder, and the build failed",
			st.TimesOutAt.UTC().Format(time.RFC1123))
	default:
		return OutcomeClosed, fmt.Sprintf("the workflow step was already resumed or stopped elsewhere (Image Builder reports it %s); nothing was sent", state.Status)
	}
}

// stepClientToken is the client token of the request's one action:
// derived from the request item's key (itself the token's hash, never the
// token) and the step, 32 hex characters (the API takes at most 36).
func stepClientToken(req Request, st Step) string {
	sum := sha256.Sum256([]byte("workflow-step-action\x00" + req.id + "\x00" + st.ExecutionID))
	return hex.EncodeToString(sum[:16])
}

// stepReason is the reason Image Builder keeps with the step (and gives
// later steps as its output): the decision and where its audit record is.
func stepReason(req Request) string {
	r := fmt.Sprintf("%s on the AMI approval page on %s by %s; audit records audit#%s#* in the decisions table",
		PastTense(req.Decision), stamp(req.DecidedAt), req.DecidedBy.SourceIP, req.Ref)
	if len(r) > 1024 {
		r = r[:1024]
	}
	return r
}
