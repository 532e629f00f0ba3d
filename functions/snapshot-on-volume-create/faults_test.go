package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults the function retries through the SDK's retryer; a failed
// read (is the volume attached? is it the root? has it a snapshot
// already? the record) takes no snapshot and fails the event with the
// reason, so Lambda retries it and then sends it to the on-failure
// destination; a redelivery once faults stop takes exactly one snapshot.
func TestSnapshotUnderFaults(t *testing.T) {
	var tr *fault.Transport
	f := newFixtureWith(t, time.Second, func(c aws.Config) aws.Config {
		c, tr = fault.Wrap(c)
		return c
	})
	root, err := rootvolume.RootVolumeOf(awstest.RunInstance(t, f.ec2, "build-host"))
	if err != nil {
		t.Fatal(err)
	}
	ev := sample(t, "create-volume-available.json", root)

	for _, rule := range []fault.Rule{
		fault.Unavailable("EC2", "DescribeVolumes"),
		fault.Throttle("EC2", "DescribeInstances"),
		fault.ServerError("EC2", "DescribeSnapshots"),
		fault.TooManyRequests("EC2", "CreateSnapshot"),
		fault.Throttle("DynamoDB", ""),
	} {
		t.Run(rule.Service+" "+rule.Operation+" "+rule.Code, func(t *testing.T) {
			tr.Set(rule)
			f.calls.Reset()
			_, err := f.h.Handle(context.Background(), ev)
			if err == nil || !strings.Contains(err.Error(), rule.Code) {
				t.Fatalf("Handle under %s = %v, want an error naming it (for the on-failure destination)", rule.Code, err)
			}
			if n := tr.Injected(rule.Service, rule.Operation); rule.Operation != "" && n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", rule.Operation, n)
			}
			if n := len(awstest.SnapshotsOf(t, f.ec2, root)); n != 0 {
				t.Errorf("snapshots after a failed step = %d, want 0", n)
			}
		})
	}

	short := fault.Throttle("EC2", "CreateSnapshot")
	short.Times = 2
	tr.Set(short)
	res, err := f.h.Handle(context.Background(), ev)
	if err != nil || res.Outcome != rootvolume.SnapshotCreated {
		t.Fatalf("Handle after a short throttle = %+v, %v, want created", res, err)
	}
	tr.Set()
	if res, err := f.h.Handle(context.Background(), ev); err != nil || res.Outcome != rootvolume.SnapshotExists {
		t.Errorf("redelivery once faults stop = %+v, %v, want exists", res, err)
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, root)); n != 1 {
		t.Errorf("snapshots = %d, want exactly 1", n)
	}
}
