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

// A handler starts a Run on the invocation's context, works on Work(), and
// finishes on Finish(): when the work's time has run out, Finish still has
// the margin, up to the invocation's deadline.
func ExampleStart() {
	// Lambda gives the handler a context with the invocation's deadline.
	invocation, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	run := deadline.Start(invocation)
	fmt.Println("margin kept:", run.Margin().Round(time.Second))
	run.Stop() // the work is over, or its time ran out

	finish, done := run.Finish()
	defer done()
	end, _ := finish.Deadline()
	invocationEnd, _ := invocation.Deadline()
	fmt.Println("work:", run.Work().Err())
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
func ExampleStartKeeping() {
	invocation, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, setting := range []time.Duration{5 * time.Second, 0} {
		run := deadline.StartKeeping(invocation, setting)
		run.Stop()
		fmt.Printf("setting %s keeps %s\n", setting, run.Margin().Round(time.Second))
	}
	// Output:
	// setting 5s keeps 5s
	// setting 0s keeps 12s
}
