package deadline

import (
	"context"
	"testing"
	"time"
)

func TestMarginScalesWithTheTimeGiven(t *testing.T) {
	tests := []struct {
		name string
		left time.Duration
		want time.Duration
	}{
		{"3 s, SAM's default timeout", 3 * time.Second, 600 * time.Millisecond},
		{"10 s", 10 * time.Second, 2 * time.Second},
		{"30 s", 30 * time.Second, 6 * time.Second},
		{"150 s reaches the cap", 150 * time.Second, MaxMargin},
		{"900 s, Lambda's maximum", 900 * time.Second, MaxMargin},
		{"already past", -time.Second, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Margin(tt.left); got != tt.want {
				t.Errorf("Margin(%s) = %s, want %s", tt.left, got, tt.want)
			}
		})
	}
}

func TestBudgetEndsAMarginBeforeTheDeadline(t *testing.T) {
	for _, left := range []time.Duration{10 * time.Second, 30 * time.Second, 900 * time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), left)
		dl, _ := ctx.Deadline()
		budget, stop, margin := Budget(ctx)
		got, ok := budget.Deadline()
		if !ok {
			t.Fatalf("Budget(%s) has no deadline", left)
		}
		if want := dl.Add(-margin); !got.Equal(want) {
			t.Errorf("Budget(%s) ends %s, want %s", left, got, want)
		}
		if d := Margin(left) - margin; d < 0 || d > 50*time.Millisecond {
			t.Errorf("Budget(%s) kept %s, want about %s", left, margin, Margin(left))
		}
		stop()
		cancel()
	}
}

func TestBudgetWithoutDeadlineFollowsTheParent(t *testing.T) {
	parent, cancelParent := context.WithCancel(context.Background())
	budget, stop, margin := Budget(parent)
	defer stop()
	if _, ok := budget.Deadline(); ok || margin != 0 {
		t.Fatalf("Budget(no deadline) = deadline %v, margin %s; want none", ok, margin)
	}
	cancelParent()
	if budget.Err() == nil {
		t.Error("Budget did not end with its parent")
	}
}

func TestFinishOutlivesTheBudgetUntilTheRealDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), key{}, "v"), 10*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	budget, stop, _ := Budget(ctx)
	stop() // the budget has run out
	if budget.Err() == nil {
		t.Fatal("stopped budget still live")
	}
	fin, done := Finish(budget)
	defer done()
	if fin.Err() != nil {
		t.Fatalf("Finish after the budget ended: %v", fin.Err())
	}
	got, _ := fin.Deadline()
	if budgetEnd, _ := budget.Deadline(); !got.Equal(budgetEnd) {
		// Finish of the budget context ends where the budget did; finish
		// from the invocation's own context to get the margin.
		t.Errorf("Finish(budget) ends %s, want the budget's end %s", got, budgetEnd)
	}
	fin2, done2 := Finish(ctx)
	defer done2()
	if got2, _ := fin2.Deadline(); !got2.Equal(dl) {
		t.Errorf("Finish(ctx) ends %s, want the invocation's deadline %s", got2, dl)
	}
	if fin2.Value(key{}) != "v" {
		t.Error("Finish dropped the context's values (request ID, logger)")
	}
	cancel()
	if fin2.Err() != nil {
		t.Error("Finish was cancelled with its parent")
	}
}

type key struct{}
