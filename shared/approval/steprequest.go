package approval

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Outcomes of handling a waiting-step event, besides Requested and
// Duplicate.
const (
	// StepNotWaiting: Image Builder says the step no longer waits (it timed
	// out or was acted on before the event was handled): nothing to ask.
	StepNotWaiting = "step-not-waiting"
	// StepUnknown: Image Builder does not know the step as the event names
	// it (another build, another action): nothing done.
	StepUnknown = "step-unknown"
)

// HandleStep is the workflow flow's Handle: it turns one waiting step into
// an approval request bound to the step, and emails the approvers as the
// SNS flow does. It asks Image Builder for the step
// (the event is a hint; GetWorkflowStepExecution says which build, which
// action, whether it still waits and when it times out) and for the build
// (GetImage: its name and any AMIs made so far), stores a request bound to
// the step and emails its link. EventBridge delivers at least once: the
// step's claim makes a redelivery a Duplicate. It returns an error only
// when a retry can help.
func (r *Requester) HandleStep(ctx context.Context, ev StepWaiting) (RequestResult, error) {
	now := r.now()
	res := RequestResult{ImageARN: ev.ImageARN, Status: "WAITING"}
	state, err := getStep(ctx, r.Builds, ev.Region, ev.StepExecutionID)
	if err != nil {
		return res, err
	}
	switch {
	case !state.Found || state.ImageARN != ev.ImageARN || state.Action != "WaitForAction":
		res.Outcome = StepUnknown
		res.Reason = fmt.Sprintf("Image Builder has no WaitForAction step %s of build %s", ev.StepExecutionID, ev.ImageARN)
		return res, nil
	case !state.Waiting():
		res.Outcome, res.Status = StepNotWaiting, state.Status
		res.Reason = fmt.Sprintf("Image Builder reports step %s as %s: nothing to approve", ev.StepExecutionID, state.Status)
		return res, nil
	}
	b, err := getBuild(ctx, r.Builds, ev.ImageARN)
	if err != nil {
		return res, err
	}
	if b.Denied || !b.Found() {
		res.Outcome, res.Reason = StepUnknown, fmt.Sprintf("Image Builder would not describe build %s", ev.ImageARN)
		return res, nil
	}
	amis, err := describeAMIs(ctx, r.EC2, b.AMIs)
	if err != nil {
		return res, err
	}
	arn, err := awsid.ParseImageBuildVersionARN(ev.ImageARN)
	if err != nil {
		return res, fmt.Errorf("%w: image build version ARN: %v", ErrNotImage, err) // ParseStepWaiting checked it already
	}
	im := Image{ARN: ev.ImageARN, Name: arn.Name, Version: arn.Version + "/" + arn.Build, Status: b.Status, AMIs: amis}
	st := Step{ExecutionID: ev.StepExecutionID, WorkflowExecutionID: ev.WorkflowExecutionID, Name: cmp.Or(state.Name, ev.StepName),
		Message: state.Message, Region: ev.Region, TimesOutAt: state.TimesOutAt.UTC().Truncate(time.Second)}
	if st.TimesOutAt.IsZero() {
		st.TimesOutAt = now.Add(DefaultStepTimeout).UTC().Truncate(time.Second)
	}

	token := NewToken()
	// The workflow's distribution decides who gets the AMIs: the request
	// names no targets of its own. The link lives at least until the step
	// times out, so that a late click is told the step timed out.
	req := newRequest(im, token, Targets{}, now, cmp.Or(r.LinkTTL, DefaultLinkTTL))
	req.LinkExpiresAt = later(req.LinkExpiresAt, st.TimesOutAt)
	tokens, err := r.name(ctx, &req)
	if err != nil {
		return res, err
	}
	if req.requestMAC, err = r.Store.sealRequest(ctx, req, &st); err != nil {
		return res, err
	}
	c := claim{ImageARN: ev.ImageARN, StepExecutionID: st.ExecutionID, ClaimID: rand.Text(), RequestID: req.id, ClaimedAt: now}
	res.Ref, res.Expires = req.Ref, stamp(req.LinkExpiresAt)
	for _, a := range req.AMIs {
		res.AMIs = append(res.AMIs, a.Region+"/"+a.ID)
	}
	if dup, err := r.claim(ctx, c, &req, &st, now, &res); err != nil || dup {
		return res, err
	}

	email := func(link string) (string, string) { return stepApprovalEmail(req, st, link, now) }
	if res.MessageID, err = r.send(ctx, c, req, token, tokens, email, now); err != nil {
		return res, err
	}
	res.Outcome = Requested
	return res, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
