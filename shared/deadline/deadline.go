// Package deadline is the one rule for working toward a Lambda invocation's
// deadline: keep a margin that scales with the time given, spend the rest,
// and finish what was started on a context that the budget's end does not
// cancel.
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

// Budget returns a context that ends Margin before ctx's deadline, and the
// margin it kept. Work done on it stops in time to finish on Finish(ctx).
// Without a deadline (a test, a local run) ctx's own cancellation applies.
func Budget(ctx context.Context) (context.Context, context.CancelFunc, time.Duration) {
	dl, ok := ctx.Deadline()
	if !ok {
		c, cancel := context.WithCancel(ctx)
		return c, cancel, 0
	}
	margin := Margin(time.Until(dl))
	c, cancel := context.WithDeadline(ctx, dl.Add(-margin))
	return c, cancel, margin
}

// Finish returns a context for finishing what was started (undoing a
// half-done act, recording the outcome, handing the rest on) once the
// budget has run out: it keeps ctx's values but not its cancellation, and
// ends at ctx's own deadline, the margin Budget kept free. Without a
// deadline it ends after MaxMargin.
func Finish(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(MaxMargin)
	}
	return context.WithDeadline(context.WithoutCancel(ctx), dl)
}
