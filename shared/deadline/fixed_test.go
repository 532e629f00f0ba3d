package deadline

import (
	"context"
	"testing"
	"time"
)

func TestBudgetKeepingAFixedMarginOrTheScaledOne(t *testing.T) {
	tests := []struct {
		name          string
		left, fixed   time.Duration
		wantMarginMax time.Duration
	}{
		{"unset scales: 10 s", 10 * time.Second, 0, 2 * time.Second},
		{"unset scales: 900 s", 900 * time.Second, 0, MaxMargin},
		{"set is kept: 3 s of 900 s", 900 * time.Second, 3 * time.Second, 3 * time.Second},
		{"set is kept: 5 s of 10 s", 10 * time.Second, 5 * time.Second, 5 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tt.left)
			defer cancel()
			dl, _ := ctx.Deadline()
			budget, stop, margin := BudgetKeeping(ctx, tt.fixed)
			defer stop()
			if margin > tt.wantMarginMax || margin < tt.wantMarginMax-50*time.Millisecond {
				t.Errorf("BudgetKeeping(%s, %s) kept %s, want %s", tt.left, tt.fixed, margin, tt.wantMarginMax)
			}
			if got, _ := budget.Deadline(); !got.Equal(dl.Add(-margin)) {
				t.Errorf("BudgetKeeping(%s, %s) ends %s, want %s", tt.left, tt.fixed, got, dl.Add(-margin))
			}
		})
	}
	budget, stop, margin := BudgetKeeping(context.Background(), 3*time.Second)
	defer stop()
	if _, ok := budget.Deadline(); ok || margin != 0 {
		t.Errorf("BudgetKeeping(no deadline, 3s) = deadline %t, margin %s; want none", ok, margin)
	}
}
