// Package deadline is the one rule for working toward a Lambda invocation's
// deadline: keep a margin that scales with the time given, spend the rest,
// and finish what was started on a context that the work's end does not
// cancel.
//
// Start(ctx) at the top of the work returns a Run: Work() is the context
// the work runs on, which ends Margin before the invocation's deadline, and
// Finish() a context for what must still happen once the work is over or
// its time has run out (undoing a half-done act, recording the outcome,
// handing the rest on), which ends at the invocation's own deadline. Pass
// the Run down instead of separate contexts: Finish ends at the
// invocation's deadline wherever it is called, even after the work context
// ended, and a Run started from another Run's Work() context finishes at
// that same deadline.
package deadline

import (
	"context"
	"time"
)

// MaxMargin caps the margin: no finishing step (an undo, a record write, a
// hand-over to a queue) needs more than this.
const MaxMargin = 30 * time.Second

// Margin is the time kept free before a deadline when left remained at the
// start: a fifth of it, at most MaxMargin. A 10 s invocation keeps 2 s, a
// 30 s one 6 s, a 900 s one 30 s, so every timeout leaves time to work.
func Margin(left time.Duration) time.Duration {
	return max(0, min(MaxMargin, left/5))
}

// Run is one invocation's work toward its deadline (Start). Its zero value
// is not usable.
type Run struct {
	work context.Context
	stop context.CancelFunc
	// base is the context Start was given: Finish keeps its values.
	base context.Context
	// end is the invocation's deadline; zero when it has none.
	end    time.Time
	margin time.Duration
}

// invocationEnd is the context key under which a Run's Work() context
// carries the invocation's deadline, so that a Run started from it
// finishes at that deadline, not at the work's end.
type invocationEnd struct{}

// Start begins work toward ctx's deadline, keeping Margin of the time left
// free. Without a deadline (a test, a local run) ctx's own cancellation
// applies and no margin is kept. Call Stop when the work is over.
func Start(ctx context.Context) *Run { return StartKeeping(ctx, 0) }

// StartKeeping is Start with a margin a setting may fix (such as the health
// gate's DEADLINE_MARGIN): a positive margin is kept as given, zero keeps
// the one that scales with the time left (Margin).
func StartKeeping(ctx context.Context, margin time.Duration) *Run {
	end, ok := ctx.Value(invocationEnd{}).(time.Time)
	if !ok {
		end, _ = ctx.Deadline()
	}
	r := &Run{base: ctx, end: end}
	if end.IsZero() {
		r.work, r.stop = context.WithCancel(ctx)
		return r
	}
	if margin <= 0 {
		margin = Margin(time.Until(end))
	}
	r.margin = margin
	r.work, r.stop = context.WithDeadline(context.WithValue(ctx, invocationEnd{}, end), end.Add(-margin))
	return r
}

// Work is the context the work runs on: it ends Margin before the
// invocation's deadline, when Stop is called, or when the context Start
// was given ends.
func (r *Run) Work() context.Context { return r.work }

// Margin is the time the Run keeps free before the invocation's deadline:
// zero without a deadline.
func (r *Run) Margin() time.Duration { return r.margin }

// Stop ends the work context and releases its resources. Finish still
// works after it.
func (r *Run) Stop() { r.stop() }

// Finish returns a context for finishing what was started (undoing a
// half-done act, recording the outcome, handing the rest on), however the
// work ended: it keeps the values of the context Start was given but not
// its cancellation, and ends at the invocation's own deadline, the margin
// the Run kept free. Without a deadline it ends MaxMargin from now.
func (r *Run) Finish() (context.Context, context.CancelFunc) {
	end := r.end
	if end.IsZero() {
		end = time.Now().Add(MaxMargin)
	}
	return context.WithDeadline(context.WithoutCancel(r.base), end)
}
