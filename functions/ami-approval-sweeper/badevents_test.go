package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

// An event that is not the schedule's starts no sweep, even with an
// approval due: the run is skipped and logged, and no AWS call is made.
// The schedule's event, with a field EventBridge may add, sweeps.
func TestBadEvents(t *testing.T) {
	env := approvaltest.New(t)
	calls := awstest.NewCalls()
	stuck(t, env, time.Now().Add(-approval.SharingLease-time.Minute))
	h := newHandler(t, env, calls)
	b := sample.Bytes(t, "ami-approval-sweeper", "scheduled.json")
	decode := func(pairs ...string) events.EventBridgeEvent {
		var ev events.EventBridgeEvent
		if err := json.Unmarshal([]byte(awstest.Replace(t, string(b), pairs...)), &ev); err != nil {
			t.Fatal(err)
		}
		return ev
	}
	big := strings.Repeat("x", 300_000)
	for _, tt := range []struct {
		name  string
		pairs []string
	}{
		{"another detail-type", []string{`"Scheduled Event"`, `"Image Builder Image State Change"`}},
		{"another source", []string{`"aws.events"`, `"aws.imagebuilder"`}},
		{"a 300 KB detail-type", []string{`"Scheduled Event"`, `"` + big + `"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			calls.Reset()
			swept, err := h.Handle(context.Background(), decode(tt.pairs...))
			if err != nil || len(swept) != 0 {
				t.Errorf("Handle = %+v, %v, want a skipped sweep", swept, err)
			}
			if n := calls.Total(); n != 0 {
				t.Errorf("AWS calls = %d (%s), want none", n, calls)
			}
		})
	}
	swept, err := h.Handle(context.Background(), decode(`"detail": {}`, `"detail": {}, "new-field": true`))
	if err != nil || len(swept) != 1 || swept[0].Outcome != approval.OutcomeShared {
		t.Errorf("scheduled sweep = %+v, %v, want the stopped approval finished", swept, err)
	}
}
