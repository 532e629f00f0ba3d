package approval

import (
	"context"
	"errors"
	"time"
)

// vote records the decision of a named request's approver (req.Approver)
// before the flow decides: a rejection goes on to the flow at once, which
// records it as the request's decision (the first decision wins, so any
// one rejection before the quorum rejects), and so does the approval that
// reaches the quorum of distinct approvers; an approval short of it stops
// here, with Result.Pending. The flow's recordDecision is conditional on no
// decision being recorded, so concurrent approvals that both see the
// quorum share (or resume) once. stop: res and err are the answer.
//
// A request decided or expired goes on to the flow, which answers it as
// for any link (Repeated, ErrExpired). The same approver's second vote, by
// the same link or another, is not counted: Result.Pending and Repeated.
func (d *Decider) vote(ctx context.Context, req Request, st *Step, decision string, who Who) (Request, Who, Result, bool, error) {
	if req.Approver.Email == "" {
		// The request's own token, which a named request never sends.
		return req, who, Result{}, true, ErrUnknownToken
	}
	who.Approver = req.Approver.Email
	if _, err := d.Store.verify(ctx, req, st); err != nil {
		return req, who, Result{}, true, err
	}
	now := d.now()
	if req.Decided() || req.Expired(now) {
		return req, who, Result{}, false, nil
	}
	v := Vote{Email: req.Approver.Email, Decision: decision, At: now.UTC().Truncate(time.Second)}
	got, err := d.Store.putVote(ctx, req, v, now)
	if errors.Is(err, errConflict) {
		// Voted already, or decided or expired meanwhile: read it again.
		if got, err = d.Store.reread(ctx, req); err != nil {
			return req, who, Result{}, true, err
		}
		if got.Decided() || got.Expired(now) {
			return got, who, Result{}, false, nil
		}
		return got, who, Result{Request: got, Pending: true, Repeated: true}, true, nil
	}
	if err != nil {
		return req, who, Result{}, true, err
	}
	if decision == Reject || len(got.Approvals()) >= got.Quorum {
		return got, who, Result{}, false, nil
	}
	d.logger().InfoContext(ctx, "approval counted; quorum not reached", "ref", got.Ref, "approver", v.Email,
		"approvals", len(got.Approvals()), "quorum", got.Quorum)
	return got, who, Result{Request: got, Pending: true}, true, nil
}
