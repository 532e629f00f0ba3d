package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each invocation writes its decision as one EMF line set, flushed before
// it returns: a snapshot created, or none taken and why.
func TestDecisionsAreMetrics(t *testing.T) {
	f := newFixture(t, time.Second)
	var out bytes.Buffer
	f.h.metrics = metrics.New("snapshot-fn", &out)
	root, err := rootvolume.RootVolumeOf(awstest.RunInstance(t, f.ec2, "build-host"))
	if err != nil {
		t.Fatal(err)
	}
	ev := sample(t, "create-volume-available.json", root)

	for _, want := range []map[string]float64{
		{"SnapshotsCreated": 1},
		{"SnapshotsNotTaken/" + rootvolume.SnapshotExists: 1},
	} {
		out.Reset()
		if _, err := f.h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		emf.Want(t, out.Bytes(), "snapshot-fn", want)
	}
	out.Reset()
	if _, err := f.h.Handle(context.Background(), []byte(`{"detail-type":"EBS Volume Notification"}`)); err != nil {
		t.Fatal(err)
	}
	emf.Want(t, out.Bytes(), "snapshot-fn", map[string]float64{"SnapshotsNotTaken/" + rootvolume.SnapshotRejected: 1})
}
