package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/awstest"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var (
	deleteTag   = awstest.Tag("delete-volume", "true")
	snapshotTag = awstest.Tag("replace-snapshot", "true")
)

func scheduled(t *testing.T) events.CloudWatchEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "root-volume-cleanup", "scheduled.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// account is a sample account: what the cleanup must delete, and what it
// must keep, each for its own reason.
type account struct {
	deleteVolume, deleteSnapshot string
	keepVolumes, keepSnapshots   map[string]string // ID → why it is kept
	now                          time.Time
	minAge                       time.Duration
}

func seed(t *testing.T, c *ec2.Client) account {
	t.Helper()
	ctx := context.Background()
	a := account{keepVolumes: map[string]string{}, keepSnapshots: map[string]string{}}
	inst := awstest.RunInstance(t, c, "host")
	instID := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)

	// Old enough resources.
	a.deleteVolume = awstest.CreateVolume(t, c, deleteTag)
	attached := awstest.CreateVolume(t, c, deleteTag)
	awstest.AttachVolume(t, c, attached, instID, "/dev/sdg")
	a.keepVolumes[attached] = "attached"
	a.keepVolumes[awstest.CreateVolume(t, c)] = "untagged"

	gone := awstest.CreateVolume(t, c)
	a.deleteSnapshot = awstest.CreateSnapshot(t, c, gone, snapshotTag)
	a.keepSnapshots[awstest.CreateSnapshot(t, c, gone)] = "untagged orphan"
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}
	a.keepSnapshots[awstest.CreateSnapshot(t, c, root, snapshotTag)] = "source volume exists"

	// A tagged snapshot behind an AMI, whose source volume is gone.
	imaged := awstest.RunInstance(t, c, "golden")
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: imaged.InstanceId, Name: aws.String("golden-" + instID)})
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(img.ImageId)}})
	if err != nil || len(imgs.Images) != 1 {
		t.Fatalf("DescribeImages = %v, %v", imgs, err)
	}
	var amiSnap string
	for _, m := range imgs.Images[0].BlockDeviceMappings {
		if m.Ebs != nil && m.Ebs.SnapshotId != nil {
			amiSnap = aws.ToString(m.Ebs.SnapshotId)
		}
	}
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{amiSnap}, Tags: []types.Tag{snapshotTag}}); err != nil {
		t.Fatal(err)
	}
	a.keepSnapshots[amiSnap] = "backs an AMI"

	// Younger than MIN_AGE: created after a pause, with MIN_AGE set between.
	time.Sleep(2200 * time.Millisecond)
	t1 := time.Now()
	a.keepVolumes[awstest.CreateVolume(t, c, deleteTag)] = "too young"
	young := awstest.CreateVolume(t, c)
	a.keepSnapshots[awstest.CreateSnapshot(t, c, young, snapshotTag)] = "too young"
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(young)}); err != nil {
		t.Fatal(err)
	}
	// moto keeps whole seconds: the old set is over 1.1s older than
	// MIN_AGE allows, the young set at least 0.1s younger.
	a.now = time.Now()
	a.minAge = a.now.Sub(t1) + 1100*time.Millisecond
	return a
}

func newHandler(c rootvolume.Cleaner) *handler {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	c.Log = log
	return &handler{cleaner: &c, log: log}
}

func exists(t *testing.T, c *ec2.Client, kind, id string) bool {
	t.Helper()
	var n int
	switch kind {
	case "volume":
		out, err := c.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{
			Filters: []types.Filter{{Name: aws.String("volume-id"), Values: []string{id}}}})
		if err != nil {
			t.Fatal(err)
		}
		n = len(out.Volumes)
	default:
		out, err := c.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{
			Filters: []types.Filter{{Name: aws.String("snapshot-id"), Values: []string{id}}}})
		if err != nil {
			t.Fatal(err)
		}
		n = len(out.Snapshots)
	}
	return n == 1
}

func TestCleanupDeletesExactlyTheUnusable(t *testing.T) {
	cfg, _ := awstest.Moto(t).Config(t)
	c := ec2.NewFromConfig(cfg)
	a := seed(t, c)
	calls := awstest.NewCalls()
	fnCfg := cfg.Copy()
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	base := rootvolume.Cleaner{
		EC2: ec2.NewFromConfig(fnCfg), SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag,
		MinAge: a.minAge, Now: func() time.Time { return a.now },
	}

	dry := base
	dry.DryRun = true
	plan, err := newHandler(dry).Handle(context.Background(), scheduled(t))
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if !plan.DryRun || len(plan.VolumesDeleted)+len(plan.SnapshotsDeleted) != 0 {
		t.Errorf("dry run summary = %+v, want dryRun and nothing deleted", plan)
	}
	if w := calls.Writes(); len(w) != 0 {
		t.Errorf("dry run write calls = %v, want none", w)
	}
	if !exists(t, c, "volume", a.deleteVolume) || !exists(t, c, "snapshot", a.deleteSnapshot) {
		t.Errorf("dry run deleted something")
	}

	sum, err := newHandler(base).Handle(context.Background(), scheduled(t))
	if err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	if diff := cmp.Diff(plan.VolumesToDelete, sum.VolumesToDelete); diff != "" {
		t.Errorf("dry run and real run plan different volumes (-dry +real):\n%s", diff)
	}
	if diff := cmp.Diff(plan.SnapshotsToDelete, sum.SnapshotsToDelete); diff != "" {
		t.Errorf("dry run and real run plan different snapshots (-dry +real):\n%s", diff)
	}
	if diff := cmp.Diff([]string{a.deleteVolume}, sum.VolumesDeleted); diff != "" {
		t.Errorf("volumes deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{a.deleteSnapshot}, sum.SnapshotsDeleted); diff != "" {
		t.Errorf("snapshots deleted (-want +got):\n%s", diff)
	}
	if exists(t, c, "volume", a.deleteVolume) || exists(t, c, "snapshot", a.deleteSnapshot) {
		t.Errorf("planned deletes still exist in the account")
	}
	for id, why := range a.keepVolumes {
		if !exists(t, c, "volume", id) {
			t.Errorf("volume %s (%s) was deleted, want kept", id, why)
		}
	}
	for id, why := range a.keepSnapshots {
		if !exists(t, c, "snapshot", id) {
			t.Errorf("snapshot %s (%s) was deleted, want kept", id, why)
		}
	}
	if n := calls.Count("EC2.DeleteVolume") + calls.Count("EC2.DeleteSnapshot"); n != 2 {
		t.Errorf("delete calls = %d, want one per deleted item (2)", n)
	}
}

// failOne fails the delete of one volume, as a throttled or locked one would.
type failOne struct {
	*ec2.Client
	id string
}

func (f failOne) DeleteVolume(ctx context.Context, in *ec2.DeleteVolumeInput, opts ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error) {
	if aws.ToString(in.VolumeId) == f.id {
		return nil, errors.New("VolumeInUse: injected")
	}
	return f.Client.DeleteVolume(ctx, in, opts...)
}

func TestOneFailedDeleteDoesNotStopTheRun(t *testing.T) {
	cfg, _ := awstest.Moto(t).Config(t)
	c := ec2.NewFromConfig(cfg)
	var vols []string
	for range 3 {
		vols = append(vols, awstest.CreateVolume(t, c, deleteTag))
	}
	slices.Sort(vols)
	h := newHandler(rootvolume.Cleaner{
		EC2: failOne{Client: c, id: vols[0]}, SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag,
	})
	sum, err := h.Handle(context.Background(), scheduled(t))
	if err != nil {
		t.Fatalf("Handle = %v", err)
	}
	deleted := slices.Sorted(slices.Values(sum.VolumesDeleted))
	if diff := cmp.Diff(vols[1:], deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if len(sum.Failed) != 1 || sum.Failed[0].ID != vols[0] {
		t.Errorf("failed = %+v, want only %s", sum.Failed, vols[0])
	}
}

// failImages makes the AMI listing fail: nothing may be deleted on doubt.
type failImages struct{ *ec2.Client }

func (failImages) DescribeImages(context.Context, *ec2.DescribeImagesInput, ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return nil, errors.New("RequestLimitExceeded: injected")
}

func TestListingFailureDeletesNothing(t *testing.T) {
	cfg, _ := awstest.Moto(t).Config(t)
	c := ec2.NewFromConfig(cfg)
	vol := awstest.CreateVolume(t, c, deleteTag)
	gone := awstest.CreateVolume(t, c)
	snap := awstest.CreateSnapshot(t, c, gone, snapshotTag)
	if _, err := c.DeleteVolume(context.Background(), &ec2.DeleteVolumeInput{VolumeId: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}
	h := newHandler(rootvolume.Cleaner{EC2: failImages{c}, SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag})
	if _, err := h.Handle(context.Background(), scheduled(t)); err == nil {
		t.Errorf("Handle = nil error, want the listing failure returned")
	}
	if !exists(t, c, "volume", vol) || !exists(t, c, "snapshot", snap) {
		t.Errorf("something was deleted although the AMI listing failed")
	}
}
