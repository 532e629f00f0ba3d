package deadline

import (
	"context"
	"time"
)

// BudgetKeeping is Budget with a margin a setting may fix (such as the
// health gate's DEADLINE_MARGIN): a positive margin is kept as given, zero
// keeps the one that scales with the time left (Margin). Without a deadline
// ctx's own cancellation applies, as for Budget.
func BudgetKeeping(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc, time.Duration) {
	dl, ok := ctx.Deadline()
	if !ok || margin <= 0 {
		return Budget(ctx)
	}
	c, cancel := context.WithDeadline(ctx, dl.Add(-margin))
	return c, cancel, margin
}
