package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

// orphanedSnapshot is a suite snapshot of an instance's root whose volume
// is gone since: one the cleanup would delete.
func (f fixture) orphanedSnapshot(t *testing.T, name string) string {
	t.Helper()
	ctx := context.Background()
	inst, root := f.instance(t, name)
	res, err := f.snaps.SnapshotNow(ctx, inst)
	if err != nil || res.Outcome != rootvolume.SnapshotCreated {
		t.Fatalf("SnapshotNow = %+v, %v", res, err)
	}
	f.detach(t, root, inst)
	// Under load moto has been seen to answer NotFound here; gone is what
	// the test needs, so that is checked instead.
	if _, err := f.ec2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(root)}); err != nil && exists(t, f.ec2, "volume", root) {
		t.Fatal(err)
	}
	return res.SnapshotID
}

func TestLockedSnapshotIsKeptWithItsDateAndNoDeleteIsSent(t *testing.T) {
	f := newFixture(t)
	locked := f.orphanedSnapshot(t, "locked")
	free := f.orphanedSnapshot(t, "free")
	until := f.fake.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	f.fake.Lock(locked, types.LockModeCompliance, false, until)
	f.advance(t, 2*time.Hour)
	f.calls.Reset()

	sum := f.run(t, f.cleaner())
	if got := f.calls.Count("EC2.DeleteSnapshot"); got != 1 || !exists(t, f.ec2, "snapshot", locked) || exists(t, f.ec2, "snapshot", free) {
		t.Errorf("DeleteSnapshot calls = %d, locked exists %v, free exists %v; want one delete, of the free one only",
			got, exists(t, f.ec2, "snapshot", locked), exists(t, f.ec2, "snapshot", free))
	}
	want := "locked until " + until.UTC().Format(time.RFC3339) + " (compliance mode"
	var text string
	for _, s := range sum.Skipped {
		if s.ID == locked {
			text = s.Text()
		}
	}
	if !strings.HasPrefix(text, want) {
		t.Errorf("locked snapshot kept because %q, want %q…", text, want)
	}
	if len(sum.Failed) != 0 {
		t.Errorf("failed = %+v, want none: a lock is no failed delete", sum.Failed)
	}
}

func TestBackupManagedSnapshotIsKeptWithItsReason(t *testing.T) {
	f := newFixture(t)
	snap := f.orphanedSnapshot(t, "backed-up")
	// AWS Backup tags what it makes; only AWS can put an aws: key on. moto
	// lets the account do it, which stands in for Backup here.
	source := "arn:aws:ec2:us-east-1:" + f.acct + ":volume/vol-0123456789abcdef0"
	f.tag(t, snap, types.Tag{Key: aws.String(rootvolume.BackupSourceTag), Value: aws.String(source)})
	f.advance(t, 2*time.Hour)
	f.calls.Reset()

	sum := f.run(t, f.cleaner())
	if got := reason(sum, snap); got != rootvolume.ReasonBackupManaged || f.calls.Count("EC2.DeleteSnapshot") != 0 {
		t.Errorf("Backup-managed snapshot kept because %q with %d DeleteSnapshot calls, want %q and none",
			got, f.calls.Count("EC2.DeleteSnapshot"), rootvolume.ReasonBackupManaged)
	}
	if len(sum.Failed) != 0 {
		t.Errorf("failed = %+v, want none", sum.Failed)
	}
}
