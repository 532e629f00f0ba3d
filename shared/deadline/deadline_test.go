package deadline

import (
	"context"
	"testing"
	"time"
)

func TestMarginScalesWithTheTimeGiven(t *testing.T) {
	t.Parallel()
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

func TestWorkEndsAMarginBeforeTheDeadline(t *testing.T) {
	t.Parallel()
	for _, left := range []time.Duration{10 * time.Second, 30 * time.Second, 900 * time.Second} {
		ctx, cancel := context.WithTimeout(context.Background(), left)
		dl, _ := ctx.Deadline()
		run := Start(ctx)
		got, ok := run.Work().Deadline()
		if !ok {
			t.Fatalf("Start(%s).Work() has no deadline", left)
		}
		if want := dl.Add(-run.Margin()); !got.Equal(want) {
			t.Errorf("Start(%s).Work() ends %s, want %s", left, got, want)
		}
		if d := Margin(left) - run.Margin(); d < 0 || d > 50*time.Millisecond {
			t.Errorf("Start(%s) kept %s, want about %s", left, run.Margin(), Margin(left))
		}
		run.Stop()
		if run.Work().Err() == nil {
			t.Errorf("Start(%s).Work() still live after Stop", left)
		}
		cancel()
	}
}

func TestWorkWithoutDeadlineFollowsTheParent(t *testing.T) {
	t.Parallel()
	parent, cancelParent := context.WithCancel(context.Background())
	run := Start(parent)
	defer run.Stop()
	if _, ok := run.Work().Deadline(); ok || run.Margin() != 0 {
		t.Fatalf("Start(no deadline) = deadline %v, margin %s; want none", ok, run.Margin())
	}
	cancelParent()
	if run.Work().Err() == nil {
		t.Error("Work did not end with its parent")
	}
}

func TestStartKeepingAFixedMarginOrTheScaledOne(t *testing.T) {
	t.Parallel()
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
			run := StartKeeping(ctx, tt.fixed)
			defer run.Stop()
			if m := run.Margin(); m > tt.wantMarginMax || m < tt.wantMarginMax-50*time.Millisecond {
				t.Errorf("StartKeeping(%s, %s) kept %s, want %s", tt.left, tt.fixed, m, tt.wantMarginMax)
			}
			if got, _ := run.Work().Deadline(); !got.Equal(dl.Add(-run.Margin())) {
				t.Errorf("StartKeeping(%s, %s) works until %s, want %s", tt.left, tt.fixed, got, dl.Add(-run.Margin()))
			}
		})
	}
	run := StartKeeping(context.Background(), 3*time.Second)
	defer run.Stop()
	if _, ok := run.Work().Deadline(); ok || run.Margin() != 0 {
		t.Errorf("StartKeeping(no deadline, 3s) = deadline %t, margin %s; want none", ok, run.Margin())
	}
}

// The trap the Run removes: a finishing context made from the work's
// context ended where the work did, leaving no margin for the undo.
func TestFinishRunsToTheInvocationsDeadlineAfterTheWorkEnded(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), key{}, "v"), 10*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	run := Start(ctx)
	run.Stop() // the work is over, or its time ran out
	if run.Work().Err() == nil {
		t.Fatal("stopped work still live")
	}
	fin, done := run.Finish()
	defer done()
	if fin.Err() != nil {
		t.Fatalf("Finish after the work ended: %v", fin.Err())
	}
	if got, _ := fin.Deadline(); !got.Equal(dl) {
		t.Errorf("Finish ends %s, want the invocation's deadline %s", got, dl)
	}
	if fin.Value(key{}) != "v" {
		t.Error("Finish dropped the context's values (request ID, logger)")
	}

	// A Run started on the work's context (a callee given Work()) still
	// finishes at the invocation's deadline, not at the work's end.
	inner := Start(run.Work())
	defer inner.Stop()
	fin2, done2 := inner.Finish()
	defer done2()
	if got, _ := fin2.Deadline(); !got.Equal(dl) {
		t.Errorf("Start(Work()).Finish ends %s, want the invocation's deadline %s", got, dl)
	}
	if fin2.Err() != nil {
		t.Errorf("Start(Work()).Finish after the work ended: %v", fin2.Err())
	}

	cancel()
	if fin.Err() != nil {
		t.Error("Finish was cancelled with its parent")
	}
}

func TestFinishWithoutDeadlineEndsAfterMaxMargin(t *testing.T) {
	t.Parallel()
	run := Start(context.Background())
	run.Stop()
	before := time.Now()
	fin, done := run.Finish()
	defer done()
	got, ok := fin.Deadline()
	if !ok || got.Before(before.Add(MaxMargin)) || got.After(time.Now().Add(MaxMargin)) {
		t.Errorf("Finish(no deadline) ends %v (set %t), want MaxMargin from now", got, ok)
	}
}

type key struct{}
