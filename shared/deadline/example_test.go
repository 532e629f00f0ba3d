package deadline_test

import (
	"context"
	"fmt"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// The margin scales with the time given: a fifth of it, at most MaxMargin.
func ExampleMargin() {
	for _, left := range []time.Duration{10 * time.Second, 30 * time.Second, 15 * time.Minute} {
		fmt.Printf("%s left keeps %s\n", left, deadline.Margin(left))
	}
	// Output:
	// 10s left keeps 2s
	// 30s left keeps 6s
	// 15m0s left keeps 30s
}

// A handler works on the budget and finishes on the invocation's own
// context: when the budget has run out, Finish still has the margin, up to
// the invocation's deadline.
func ExampleFinish() {
	// Lambda gives the handler a context with the invocation's deadline.
	invocation, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	work, stop, margin := deadline.Budget(invocation)
	fmt.Println("margin kept:", margin.Round(time.Second))
	stop() // the work is over, or its budget ran out

	finish, done := deadline.Finish(invocation)
	defer done()
	end, _ := finish.Deadline()
	invocationEnd, _ := invocation.Deadline()
	fmt.Println("work:", work.Err())
	fmt.Println("finish:", finish.Err())
	fmt.Println("finish ends at the invocation's deadline:", end.Equal(invocationEnd))
	// Output:
	// margin kept: 12s
	// work: context canceled
	// finish: <nil>
	// finish ends at the invocation's deadline: true
}

// A setting such as the health gate's DEADLINE_MARGIN fixes the margin;
// zero keeps the one that scales.
func ExampleBudgetKeeping() {
	invocation, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, setting := range []time.Duration{5 * time.Second, 0} {
		_, stop, margin := deadline.BudgetKeeping(invocation, setting)
		stop()
		fmt.Printf("setting %s keeps %s\n", setting, margin.Round(time.Second))
	}
	// Output:
	// setting 5s keeps 5s
	// setting 0s keeps 12s
}
