package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults the reconcile retries through the SDK's retryer, writes and
// deletes no alarm on the strength of a failed read (the metrics, the
// instances, the alarms it owns), fails the scheduled invocation with the
// reason (so Lambda sends it to the on-failure destination), and converges
// once the faults stop.
func TestReconcileUnderFaults(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	fl := seedFleet(t, f)
	schedule := sample(t, "scheduled.json", "")
	if _, err := f.h.Handle(context.Background(), schedule); err != nil {
		t.Fatal(err)
	}
	faulted, tr := fault.Wrap(countedConfig(f))
	f.h.rec.EC2, f.h.rec.CloudWatch = ec2.NewFromConfig(faulted), cloudwatch.NewFromConfig(faulted)
	// app2 goes: its two alarms are due for deletion.
	if _, err := f.ec2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{fl.app2}}); err != nil {
		t.Fatal(err)
	}

	for _, rule := range []fault.Rule{
		fault.Unavailable("CloudWatch", "ListMetrics"),
		fault.Throttle("EC2", "DescribeInstances"),
		fault.ServerError("CloudWatch", "DescribeAlarms"),
		fault.TooManyRequests("CloudWatch", "ListMetrics"),
	} {
		t.Run(rule.Operation+" "+rule.Code, func(t *testing.T) {
			tr.Set(rule)
			f.calls.Reset()
			_, err := f.h.Handle(context.Background(), schedule)
			if err == nil || !strings.Contains(err.Error(), rule.Code) {
				t.Fatalf("Handle under %s %s = %v, want an error naming it (for the on-failure destination)", rule.Operation, rule.Code, err)
			}
			if n := tr.Injected(rule.Service, rule.Operation); n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", rule.Operation, n)
			}
			if w := f.calls.Writes(); len(w) != 0 {
				t.Errorf("writes under a failed read = %v, want none", w)
			}
		})
	}
	if got := len(diskalarmtest.Alarms(t, f.cw, prefix)); got != 8 {
		t.Fatalf("alarms after the failed runs = %d, want the 8 untouched", got)
	}

	// A short throttle of the deletes is ridden out; once faults stop the
	// reconcile has converged and a re-run writes nothing.
	short := fault.Throttle("CloudWatch", "DeleteAlarms")
	short.Times = 2
	tr.Set(short)
	out, err := f.h.Handle(context.Background(), schedule)
	if err != nil {
		t.Fatalf("Handle after a short throttle = %v", err)
	}
	if res := out.(diskalarm.Result); res.Deleted != 2 || len(res.Failed) != 0 {
		t.Errorf("result = %+v, want app2's 2 alarms deleted", res)
	}
	if n := tr.Injected("CloudWatch", "DeleteAlarms"); n != 2 {
		t.Errorf("DeleteAlarms throttled %d times, want 2", n)
	}
	if got := len(diskalarmtest.Alarms(t, f.cw, prefix)); got != 6 {
		t.Errorf("alarms left = %d, want 6", got)
	}
	tr.Set()
	f.calls.Reset()
	if _, err := f.h.Handle(context.Background(), schedule); err != nil {
		t.Fatal(err)
	}
	if w := f.calls.Writes(); len(w) != 0 {
		t.Errorf("re-run after convergence wrote %v, want nothing", w)
	}
}
