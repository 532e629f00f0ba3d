package approval

import (
	"context"

	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// Resent is what the sweeper did with one step decision that Image Builder
// had not confirmed.
type Resent struct {
	Ref             string `json:"ref"`
	StepExecutionID string `json:"stepExecutionId"`
	Decision        string `json:"decision"`
	Outcome         string `json:"outcome,omitempty"` // resumed, stopped, timedOut, closed; "" on an error
	Error           string `json:"error,omitempty"`
}

// ResendUnconfirmed finishes what an approver's decision started: each
// step decision recorded "sending" for longer than SharingLease (the page's
// invocation failed or stopped before Image Builder confirmed the action)
// is sent again, with the decision's own client token, so the step is
// acted on once however often it is sent, and what came of it is recorded
// and audited as the sweeper's. A step that timed out or was acted on
// elsewhere meanwhile is recorded so. Without this, a recorded approval
// could sit unsent until its step timed out and failed the build.
//
// It works to deadline.Budget(ctx), as Sweep, and returns an error only
// when it could not look.
func (d *StepDecider) ResendUnconfirmed(ctx context.Context) ([]Resent, error) {
	work, cancel, _ := deadline.Budget(ctx)
	defer cancel()
	now := d.now()
	reqs, steps, err := d.Store.stepsSending(work, now.Add(-SharingLease))
	if err != nil {
		return nil, err
	}
	var out []Resent
	for i, req := range reqs {
		if work.Err() != nil {
			d.logger().WarnContext(ctx, "out of time; the next sweep sends the rest", "left", len(reqs)-i)
			break
		}
		st := steps[i]
		r := Resent{Ref: req.Ref, StepExecutionID: st.ExecutionID, Decision: req.Decision}
		audit := Audit{Ref: req.Ref, ImageARN: req.ImageARN, Action: "sweep", Who: Sweeper, At: now, AMIs: req.AMIs, Checked: describedByEC2(req.AMIs)}
		res, err := d.send(ctx, work, req, st, audit)
		if err != nil {
			r.Error = err.Error()
		} else {
			r.Outcome = res.Request.Outcome
		}
		out = append(out, r)
	}
	return out, nil
}
