package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults a replacement retries through the SDK's retryer; a failed
// read (the instance and its opt-in, the snapshots, the record) starts no
// task and labels no volume, and the error names the reason (the caller of
// a direct invocation sees it; an EventBridge request goes to the
// on-failure destination with it). Once faults stop, the request starts
// one task, and a retry of it finds that task.
func TestReplaceUnderFaults(t *testing.T) {
	var tr *fault.Transport
	f := newFixtureWith(t, func(c aws.Config) aws.Config {
		c, tr = fault.Wrap(c)
		return c
	})
	inst := optedIn(t, f.ec2, "builder")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)
	req := request(t, "eventbridge-request.json", id)

	for _, rule := range []fault.Rule{
		fault.Unavailable("EC2", "DescribeInstances"),
		fault.Throttle("EC2", "DescribeSnapshots"),
		fault.ServerError("DynamoDB", ""),
		fault.TooManyRequests("EC2", "DescribeInstances"),
	} {
		t.Run(rule.Service+" "+rule.Operation+" "+rule.Code, func(t *testing.T) {
			tr.Set(rule)
			before := tr.Injected(rule.Service, rule.Operation)
			f.calls.Reset()
			_, err := f.h.Handle(context.Background(), req)
			if err == nil || !strings.Contains(err.Error(), rule.Code) {
				t.Fatalf("Handle under %s = %v, want an error naming it", rule.Code, err)
			}
			if n := tr.Injected(rule.Service, rule.Operation) - before; rule.Operation != "" && n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", rule.Operation, n)
			}
			if n := f.fake.Started(); n != 0 {
				t.Errorf("tasks started under a failed read = %d, want 0", n)
			}
			if tag := volumeTags(t, f.ec2, root)["delete-volume"]; tag != "" {
				t.Errorf("root volume labelled delete-volume=%q under a failed read", tag)
			}
		})
	}

	tr.Set()
	first, err := f.h.Handle(context.Background(), req)
	if err != nil || first.TaskID == "" {
		t.Fatalf("Handle once faults stop = %+v, %v, want a task", first, err)
	}
	again, err := f.h.Handle(context.Background(), req)
	if err != nil || again.TaskID != first.TaskID || f.fake.Started() != 1 {
		t.Errorf("retry = %+v, %v, %d tasks, want task %s found again and 1 task", again, err, f.fake.Started(), first.TaskID)
	}
	if recs := records(t, f.db); len(recs) != 1 {
		t.Errorf("records = %d, want 1", len(recs))
	}
}
