package approval

import (
	"context"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// Resent is what the sweeper did with one step decision that Image Builder
// had not confirmed.
type Resent struct {
	Ref             string `json:"ref"`
	StepExecutionID string `json:"stepExecutionId"`
	Decision        string `json:"decision"`
	Outcome         string `json:"outcome,omitempty"` // resumed, stopped, timed-out, closed; "" on an error
	Error           string `json:"error,omitempty"`
	// Tampered: the record does not verify with the proof key (or carries
	// no MAC), so nothing was sent; it is reported.
	Tampered string `json:"tampered,omitempty"`
}

// sweepSteps does the workflow flow's part of a sweep, on one scan of the
// table: it sends again the decisions Image Builder never confirmed (see
// resend), then reminds the approvers of steps about to time out (see
// remind; lead is how long before). It works on deadline.Start(ctx)'s
// Work() and returns an error only when it could not look.
func (d *Decider) sweepSteps(ctx context.Context, lead time.Duration) ([]Resent, []Reminded, error) {
	run := deadline.Start(ctx)
	defer run.Stop()
	now := d.now()
	unconfirmed, toRemind, err := d.Store.stepWork(run.Work(), now, now.Add(lead), now.Add(-SharingLease))
	if err != nil {
		return nil, nil, err
	}
	return d.resend(run, now, unconfirmed), d.remind(run, now, toRemind), nil
}

// resend finishes what an approver's decision started: each step decision
// recorded "sending" for longer than SharingLease (the page's invocation
// failed or stopped before Image Builder confirmed the action) is sent
// again, with the decision's own client token, so the step is acted on
// once however often it is sent, and what came of it is recorded and
// audited as the sweeper's. A step that timed out or was acted on
// elsewhere meanwhile is recorded so. Without this, a recorded approval
// could sit unsent until its step timed out and failed the build.
func (d *Decider) resend(run *deadline.Run, now time.Time, unconfirmed stepRequests) []Resent {
	work := run.Work()
	var out []Resent
	for i, r := range unconfirmed {
		if work.Err() != nil {
			d.logger().WarnContext(work, "out of time; the next sweep sends the rest", "left", len(unconfirmed)-i)
			break
		}
		res := Resent{Ref: r.Ref, StepExecutionID: r.Step.ExecutionID, Decision: r.Decision}
		if tamper, err := d.trusted(run, r); err != nil {
			res.Error = err.Error()
			out = append(out, res)
			continue
		} else if tamper != nil {
			res.Tampered = tamper.Reason
			out = append(out, res)
			continue
		}
		audit := Audit{Ref: r.Ref, ImageARN: r.ImageARN, Action: "sweep", Who: sweeperWho, At: now, AMIs: r.AMIs, Checked: describedByEC2(r.AMIs)}
		sent, err := d.send(run, r.Request, r.Step, audit)
		if err != nil {
			res.Error = err.Error()
		} else {
			res.Outcome = sent.Request.Outcome
		}
		out = append(out, res)
	}
	return out
}

// trusted checks a step-bound record before the sweep acts on it: a
// *Tamper when it does not verify (or carries no MAC: a recorded decision
// of the version before sealing is never sent by the sweeper), which is
// reported; an error when KMS could not say.
func (d *Decider) trusted(run *deadline.Run, r stepRequest) (*Tamper, error) {
	unsealed, err := d.Store.verify(run.Work(), r.Request, &r.Step)
	tamper, bad := tamperOf(err)
	switch {
	case unsealed:
		tamper, bad = tampered(r.Request, unsealedReason).Tamper, true
	case err != nil && !bad:
		return nil, err
	}
	if !bad {
		return nil, nil
	}
	d.reportTamper(run, r.id, tamper)
	return &tamper, nil
}
