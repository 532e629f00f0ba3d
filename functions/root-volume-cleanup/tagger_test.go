package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// taggerPolicy is an insider's: it may label anything and read EC2, and
// nothing else (a tagging pipeline, an operator's tag-editor role).
const taggerPolicy = `{"Version":"2012-10-17","Statement":[
 {"Effect":"Allow","Action":"ec2:CreateTags","Resource":"*"},
 {"Effect":"Allow","Action":["ec2:DescribeVolumes","ec2:DescribeSnapshots","ec2:DescribeInstances"],"Resource":"*"}]}`

// TestTaggerCannotMakeTheCleanupDelete: a principal with only
// ec2:CreateTags (and Describe) puts the cleanup's labels on a detached
// volume and on a snapshot of it, past every age the cleanup waits for.
// Its own tags are allowed, yet the cleanup, under its role, deletes
// neither: a label is not a record, and the snapshot carries no marker.
func TestTaggerCannotMakeTheCleanupDelete(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tagger := ec2.NewFromConfig(f.role.OtherPrincipal(t, f.cfg, "tagger", taggerPolicy))
	vol := awstest.CreateVolume(t, f.ec2)
	snap := awstest.CreateSnapshot(t, f.ec2, vol)
	for _, id := range []string{vol, snap} {
		tags := []types.Tag{deleteTag}
		if id == snap {
			tags = []types.Tag{snapshotTag}
		}
		if _, err := tagger.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
			t.Fatalf("the tagger's CreateTags(%s) = %v, want allowed: it is the attack", id, err)
		}
	}
	if _, err := tagger.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(vol)}); err == nil {
		t.Fatal("the tagger deleted a volume itself: its policy is wrong")
	}
	f.advance(t, 72*time.Hour)

	sum := f.run(t, f.cleaner())
	if len(sum.VolumesDeleted)+len(sum.SnapshotsDeleted) != 0 {
		t.Errorf("cleanup deleted %v %v, want nothing", sum.VolumesDeleted, sum.SnapshotsDeleted)
	}
	if !exists(t, f.ec2, "volume", vol) || !exists(t, f.ec2, "snapshot", snap) {
		t.Errorf("volume %s or snapshot %s is gone", vol, snap)
	}
	if f.calls.Count("EC2.DeleteVolume")+f.calls.Count("EC2.DeleteSnapshot") != 0 {
		t.Errorf("the cleanup asked EC2 to delete: %d volumes, %d snapshots", f.calls.Count("EC2.DeleteVolume"), f.calls.Count("EC2.DeleteSnapshot"))
	}
}
