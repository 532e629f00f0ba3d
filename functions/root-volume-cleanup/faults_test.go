package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults the cleanup retries through the SDK's retryer, deletes
// nothing on the strength of a failed read ("does this volume still
// exist?", "does an AMI use this snapshot?", "what does the record say?"),
// fails the scheduled invocation with the reason (so Lambda sends it to the
// on-failure destination), and converges once the faults stop.
func TestCleanupUnderFaults(t *testing.T) {
	var tr *fault.Transport
	f := newFixtureWith(t, func(c aws.Config) aws.Config {
		c, tr = fault.Wrap(c)
		return c
	})
	ctx := context.Background()
	// A replaced root past its window, and the suite's snapshot of a gone volume.
	inst, oldRoot := f.instance(t, "replaced")
	f.replace(t, inst)
	snapped, snappedRoot := f.instance(t, "snapped")
	snap, err := f.snaps.SnapshotNow(ctx, snapped)
	if err != nil {
		t.Fatal(err)
	}
	f.detach(t, snappedRoot, snapped)
	if _, err := f.ec2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(snappedRoot)}); err != nil {
		t.Fatal(err)
	}
	f.advance(t, 25*time.Hour)

	failedReads := []struct {
		name string
		rule fault.Rule
	}{
		{"DescribeImages 503", fault.Unavailable("EC2", "DescribeImages")},
		{"DescribeVolumes throttled", fault.Throttle("EC2", "DescribeVolumes")},
		{"DescribeSnapshots 500", fault.ServerError("EC2", "DescribeSnapshots")},
		{"DescribeInstances 429", fault.TooManyRequests("EC2", "DescribeInstances")},
		{"replacement records throttled", fault.Throttle("DynamoDB", "")},
	}
	for _, tt := range failedReads {
		t.Run(tt.name, func(t *testing.T) {
			tr.Set(tt.rule)
			f.calls.Reset()
			_, err := f.cleaner().Handle(ctx, scheduled(t))
			if err == nil {
				t.Fatalf("Handle under %s = nil error, want the failure returned for the on-failure destination", tt.name)
			}
			if !strings.Contains(err.Error(), tt.rule.Code) {
				t.Errorf("error = %q, want it to name %s", err, tt.rule.Code)
			}
			if n := tr.Injected(tt.rule.Service, tt.rule.Operation); tt.rule.Operation != "" && n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", tt.rule.Operation, n)
			}
			if w := f.calls.Writes(); w["EC2.DeleteVolume"]+w["EC2.DeleteSnapshot"] != 0 {
				t.Errorf("deletes under a failed read = %v, want none", w)
			}
			if !exists(t, f.ec2, "volume", oldRoot) || !exists(t, f.ec2, "snapshot", snap.SnapshotID) {
				t.Errorf("a volume or snapshot was deleted although a read failed")
			}
		})
	}

	// A short throttle is ridden out by the retryer; once faults stop the
	// run deletes exactly what it should.
	short := fault.Throttle("EC2", "DescribeImages")
	short.Times = 2
	tr.Set(short)
	sum := f.run(t, f.cleaner())
	if !slices.Contains(sum.VolumesDeleted, oldRoot) || !slices.Contains(sum.SnapshotsDeleted, snap.SnapshotID) {
		t.Errorf("after a short throttle: deleted volumes %v, snapshots %v, want %s and %s",
			sum.VolumesDeleted, sum.SnapshotsDeleted, oldRoot, snap.SnapshotID)
	}
	tr.Set()
	f.calls.Reset()
	f.run(t, f.cleaner())
	if w := f.calls.Writes(); w["EC2.DeleteVolume"]+w["EC2.DeleteSnapshot"] != 0 {
		t.Errorf("re-run after convergence deleted %v, want nothing", w)
	}
}
