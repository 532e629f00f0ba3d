package main

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/google/go-cmp/cmp"
)

func TestDryRunAndRealRunReportTheSameReclaim(t *testing.T) {
	f := newFixture(t)
	inst, oldRoot := f.instance(t, "web")
	f.replace(t, inst)
	snap := f.orphanedSnapshot(t, "gone")
	f.advance(t, 25*time.Hour) // past the rollback window and MIN_AGE

	// What EC2 says of what will go, read as the account, not through the
	// code under test.
	vols, err := f.ec2.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{VolumeIds: []string{oldRoot}})
	if err != nil || len(vols.Volumes) != 1 {
		t.Fatalf("DescribeVolumes(%s) = %v", oldRoot, err)
	}
	snaps, err := f.ec2.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
	if err != nil || len(snaps.Snapshots) != 1 {
		t.Fatalf("DescribeSnapshots(%s) = %v", snap, err)
	}
	vol := vols.Volumes[0]
	volGiB, snapGiB := int64(aws.ToInt32(vol.Size)), int64(aws.ToInt32(snaps.Snapshots[0].VolumeSize))
	price := rootvolume.DefaultPrices
	want := rootvolume.Reclaim{
		VolumeGiB:   map[string]int64{string(vol.VolumeType): volGiB},
		SnapshotGiB: snapGiB,
		// Priced by the table in code: the volume's type, and snapshots.
		EstimatedMonthlySavingUSD: float64(int64((float64(volGiB)*price.Volume[string(vol.VolumeType)]+float64(snapGiB)*price.Snapshot)*100+0.5)) / 100,
		PriceSource:               price.Source,
	}

	dry := f.run(t, f.cleaner(func(c *rootvolume.Cleaner) { c.DryRun = true }))
	real := f.run(t, f.cleaner(func(c *rootvolume.Cleaner) { c.RecycleBinDays = 30 }))
	if !slices.Contains(real.VolumesDeleted, oldRoot) || !slices.Contains(real.SnapshotsDeleted, snap) {
		t.Fatalf("deleted volumes %v snapshots %v, want %s and %s", real.VolumesDeleted, real.SnapshotsDeleted, oldRoot, snap)
	}
	if diff := cmp.Diff(want, dry.Reclaim); diff != "" {
		t.Errorf("dry run's reclaim differs from what EC2 says of the resources (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(dry.Reclaim, real.Reclaim); diff != "" {
		t.Errorf("real run's reclaim differs from the dry run's (-dry +real):\n%s", diff)
	}
	if want.EstimatedMonthlySavingUSD <= 0 || volGiB == 0 {
		t.Errorf("reclaim = %+v: a test of nothing (no GiB, no saving)", want)
	}
	// The undo window: each deleted resource, until when the stack's
	// Recycle Bin rules keep it (snapshots RECYCLE_BIN_DAYS, volumes 7 days).
	now := f.fake.Now().UTC()
	wantRestorable := []rootvolume.Restorable{
		{ID: oldRoot, Kind: rootvolume.KindVolume, Until: now.Add(7 * 24 * time.Hour)},
		{ID: snap, Kind: rootvolume.KindSnapshot, Until: now.Add(30 * 24 * time.Hour)},
	}
	if diff := cmp.Diff(wantRestorable, real.Restorable); diff != "" {
		t.Errorf("restorable (-want +got):\n%s", diff)
	}
	if len(dry.Restorable) != 0 {
		t.Errorf("dry run restorable = %v, want none: nothing was deleted", dry.Restorable)
	}
	m, _, ok := cleanupMessage(real, now)
	if !ok || !strings.Contains(m.Body, "volume "+oldRoot+" (restorable from the Recycle Bin until "+wantRestorable[0].Until.Format(time.RFC3339)+")") ||
		!strings.Contains(m.Body, real.Reclaim.Line(false)) {
		t.Errorf("notification body = %q, want the reclaim line and each deleted resource with its restore date", m.Body)
	}
	if line := real.Reclaim.Line(false); !strings.Contains(line, "upper bound") || strings.Contains(line, "\n") {
		t.Errorf("Line = %q, want one line that says the snapshot figure is an upper bound", line)
	}
}
