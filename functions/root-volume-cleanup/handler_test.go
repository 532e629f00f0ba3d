package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

var (
	deleteTag   = awstest.Tag("delete-volume", "true")
	snapshotTag = awstest.Tag("replace-snapshot", "true")
	keepTag     = awstest.Tag("lambda-suite:keep", "true")
	optIn       = awstest.Tag("root-volume-replace", "enabled")
)

const (
	table = "replacements"
	// topic is the name of the notification topic (NOTIFY_TOPIC_ARN) the
	// tests that listen make.
	topic = "lambda-suite-notifications"
)

func scheduled(t *testing.T) events.CloudWatchEvent {
	t.Helper()
	return sample.Event[events.CloudWatchEvent](t, "root-volume-cleanup", "scheduled.json")
}

// fixture is an account in moto with the replacements table, and the
// suite's pieces acting in it, each under its own role as infra/sam writes
// it: replacements through the real Replacer (replace-root-volume's role),
// root volumes recorded and snapshots taken through the real Snapshotter
// (snapshot-on-volume-create's role), the cleanup under its role, and the
// EC2 calls moto lacks answered by the task fake, whose clock all of them
// share. The clock starts an hour ahead of moto's, so that everything moto
// creates is older than anything the suite does.
type fixture struct {
	cfg   aws.Config // the account's administrator, for setup and checks
	ec2   *ec2.Client
	db    *dynamodb.Client
	fake  *replacetest.Tasks
	calls *awstest.Calls
	// role is the cleanup's role; fnCfg the configuration the cleanup's
	// clients are built on (role.Config, with faults and call counts);
	// caller the task fake as the role sees it.
	role     *iam.Function
	acct     string
	keyARN   string
	fnCfg    aws.Config
	caller   *replacetest.Caller
	store    *rootvolume.Store
	replacer *rootvolume.Replacer
	snaps    *rootvolume.Snapshotter
	notes    *notes
}

// notes is the notification topic and its inbox, made on first use.
type notes struct {
	topicARN string
	inbox    *approvaltest.Inbox
}

func newFixture(t *testing.T) fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with the cleanup's clients built on
// wrap(config), such as a config whose calls go through injected faults.
func newFixtureWith(t *testing.T, wrap func(aws.Config) aws.Config) fixture {
	t.Helper()
	cfg, acct := awstest.Moto(t).Config(t)
	replacetest.CreateTable(t, dynamodb.NewFromConfig(cfg), table)
	calls := awstest.NewCalls()
	keyARN, keyID := replacetest.RecordKey(t, cfg)
	names := map[string]string{"RootVolumeReplacementsTable": table, "RootVolumeNotifyTopic": topic, "RootVolumeRecordKey": keyID}
	// The cleanup's calls run under its role, as infra/sam writes it.
	role := iam.As(t, cfg, acct, "root-volume.yaml", "RootVolumeCleanupFunction", iam.Options{Names: names})
	fnCfg := role.Config
	if wrap != nil {
		fnCfg = wrap(fnCfg)
	}
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	// The fake does EC2's own work for a task, so it acts as the account;
	// the suite's functions reach it through their roles.
	fake := replacetest.Clocked(ec2.NewFromConfig(cfg), time.Now().Add(time.Hour).UTC().Truncate(time.Second))
	caller := fake.As(ec2.NewFromConfig(fnCfg), role.Authorizer("ec2"))
	replaceRole := iam.As(t, cfg, acct, "root-volume.yaml", "ReplaceRootVolumeFunction", iam.Options{Names: names})
	snapRole := iam.As(t, cfg, acct, "root-volume.yaml", "SnapshotOnVolumeCreateFunction", iam.Options{Names: names})
	return fixture{
		cfg: cfg, ec2: ec2.NewFromConfig(cfg), db: dynamodb.NewFromConfig(cfg), fake: fake, calls: calls,
		role: role, fnCfg: fnCfg, caller: caller,
		keyARN: keyARN, acct: acct,
		store: &rootvolume.Store{DB: dynamodb.NewFromConfig(fnCfg), Table: table, Sealer: replacetest.Sealer(fnCfg, keyARN)},
		replacer: &rootvolume.Replacer{EC2: fake.As(ec2.NewFromConfig(replaceRole.Config), replaceRole.Authorizer("ec2")),
			Store:       &rootvolume.Store{DB: dynamodb.NewFromConfig(replaceRole.Config), Table: table, Sealer: replacetest.Sealer(replaceRole.Config, keyARN)},
			SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag, OptInTag: rootvolume.DefaultOptInTag, Now: fake.Now},
		snaps: &rootvolume.Snapshotter{EC2: ec2.NewFromConfig(snapRole.Config),
			Store: &rootvolume.Store{DB: dynamodb.NewFromConfig(snapRole.Config), Table: table, Sealer: replacetest.Sealer(snapRole.Config, keyARN)},
			Tag:   rootvolume.DefaultSnapshotTag, Now: fake.Now, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))},
		notes: &notes{},
	}
}

// inbox makes the notification topic in the fixture's account and a queue
// subscribed to it, once, and returns the topic's ARN and the inbox.
func (f fixture) inbox(t *testing.T) (string, *approvaltest.Inbox) {
	t.Helper()
	if f.notes.inbox == nil {
		snsc := sns.NewFromConfig(f.cfg)
		f.notes.topicARN = approvaltest.CreateTopic(t, snsc, topic)
		f.notes.inbox = approvaltest.NewInbox(t, snsc, sqs.NewFromConfig(f.cfg), f.notes.topicARN)
	}
	return f.notes.topicARN, f.notes.inbox
}

// cleaner is the cleanup as the function builds it, on the fake's clock.
func (f fixture) cleaner(mod ...func(*rootvolume.Cleaner)) *handler {
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	c := &rootvolume.Cleaner{
		EC2: f.caller, Store: f.store, SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag,
		KeepTag: rootvolume.DefaultKeepTag, MinAge: time.Hour, RetainReplaced: 24 * time.Hour, Now: f.fake.Now, Log: log,
	}
	for _, m := range mod {
		m(c)
	}
	return &handler{cleaner: c, log: log}
}

func (f fixture) run(t *testing.T, h *handler) rootvolume.CleanupSummary {
	t.Helper()
	sum, err := h.Handle(context.Background(), scheduled(t))
	if err != nil {
		t.Fatalf("cleanup: %v", err)
	}
	return sum
}

func (f fixture) advance(t *testing.T, d time.Duration) {
	t.Helper()
	if err := f.fake.Advance(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// instance starts an instance that opts in to replacement, and returns it
// with its root volume.
func (f fixture) instance(t *testing.T, name string) (string, string) {
	t.Helper()
	inst := awstest.RunInstance(t, f.ec2, name)
	id := aws.ToString(inst.InstanceId)
	if _, err := f.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{optIn}}); err != nil {
		t.Fatal(err)
	}
	root, err := rootvolume.RootVolumeOf(inst)
	if err != nil {
		t.Fatal(err)
	}
	return id, root
}

func (f fixture) replace(t *testing.T, instanceID string) rootvolume.ReplaceResult {
	t.Helper()
	res, err := f.replacer.Replace(context.Background(), rootvolume.ReplaceRequest{InstanceID: instanceID, RestoreTo: rootvolume.RestoreLaunchState}, rootvolume.Invocation{RequestedBy: "test"})
	if err != nil {
		t.Fatalf("Replace(%s) = %v", instanceID, err)
	}
	return res
}

// detach detaches a volume, as a rescue, resize or forensics job does.
func (f fixture) detach(t *testing.T, volumeID, instanceID string) {
	t.Helper()
	inst := awstest.DescribeInstance(t, f.ec2, instanceID)
	if _, err := f.ec2.DetachVolume(context.Background(), &ec2.DetachVolumeInput{
		VolumeId: aws.String(volumeID), InstanceId: aws.String(instanceID), Device: inst.RootDeviceName}); err != nil {
		t.Fatal(err)
	}
}

func (f fixture) tag(t *testing.T, id string, tags ...types.Tag) {
	t.Helper()
	if _, err := f.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{id}, Tags: tags}); err != nil {
		t.Fatal(err)
	}
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

func volumeTag(t *testing.T, c *ec2.Client, id, key string) string {
	t.Helper()
	out, err := c.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("DescribeVolumes(%s) = %v", id, err)
	}
	for _, tag := range out.Volumes[0].Tags {
		if aws.ToString(tag.Key) == key {
			return aws.ToString(tag.Value)
		}
	}
	return ""
}

// reason returns the reason the summary says id was kept for, or "".
func reason(sum rootvolume.CleanupSummary, id string) rootvolume.Reason {
	for _, s := range sum.Skipped {
		if s.ID == id {
			return s.Reason
		}
	}
	return ""
}

func records(t *testing.T, db *dynamodb.Client) map[string]rootvolume.Replacement {
	t.Helper()
	byVolume := map[string]rootvolume.Replacement{}
	for _, r := range replacetest.Items[rootvolume.Replacement](t, db, table, rootvolume.KindReplacement) {
		if r.ReplacedVolumeID != "" {
			byVolume[r.ReplacedVolumeID] = r
		}
	}
	return byVolume
}

func TestRefusedOrFailedTaskNeverLosesTheRootVolume(t *testing.T) {
	f := newFixture(t)
	refused, refusedRoot := f.instance(t, "refused")
	failed, failedRoot := f.instance(t, "failed")
	f.fake.Refuse(refused, "IncorrectState", "The instance is not in a valid state")
	f.fake.Fail(failed)

	if _, err := f.replacer.Replace(context.Background(), rootvolume.ReplaceRequest{InstanceID: refused, RestoreTo: rootvolume.RestoreLaunchState}, rootvolume.Invocation{RequestedBy: "test"}); err == nil {
		t.Fatal("Replace(refused) = nil error")
	}
	if got := volumeTag(t, f.ec2, refusedRoot, "delete-volume"); got != "" {
		t.Errorf("refused task: live root volume tagged delete-volume=%q, want no tag", got)
	}
	f.replace(t, failed)
	f.advance(t, 10*time.Minute) // the task fails
	f.run(t, f.cleaner())        // and the cleanup records it
	if rec := records(t, f.db)[failedRoot]; rec.State != rootvolume.StateFailed {
		t.Errorf("failed task's record state = %q, want failed", rec.State)
	}
	if got := volumeTag(t, f.ec2, failedRoot, "delete-volume"); got != "" {
		t.Errorf("failed task: live root volume tagged delete-volume=%q, want the label removed", got)
	}

	// Months later both roots are detached for a rescue; someone even tags
	// the refused one. No run deletes either, whatever its age.
	f.detach(t, refusedRoot, refused)
	f.detach(t, failedRoot, failed)
	f.tag(t, refusedRoot, deleteTag)
	for _, age := range []time.Duration{25 * time.Hour, 90 * 24 * time.Hour} {
		f.advance(t, age)
		sum := f.run(t, f.cleaner(func(c *rootvolume.Cleaner) { c.MinAge = 0 }))
		for id, want := range map[string]rootvolume.Reason{refusedRoot: rootvolume.ReasonTaskRefused, failedRoot: rootvolume.ReasonTaskFailed} {
			if !exists(t, f.ec2, "volume", id) {
				t.Fatalf("after %s: root volume %s was deleted", age, id)
			}
			if got := reason(sum, id); got != want {
				t.Errorf("after %s: %s kept because %q, want %q", age, id, got, want)
			}
		}
	}
	if n := f.calls.Count("EC2.DeleteVolume"); n != 0 {
		t.Errorf("DeleteVolume calls = %d, want 0", n)
	}
}

func TestForgedTagsAreIgnored(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	forgedVolume := awstest.CreateVolume(t, f.ec2, deleteTag)

	// A backup snapshot of a volume since deleted, tagged as if the suite
	// had made it.
	gone := awstest.CreateVolume(t, f.ec2)
	backup, err := f.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(gone), Description: aws.String("nightly backup")})
	if err != nil {
		t.Fatal(err)
	}
	backupID := aws.ToString(backup.SnapshotId)
	f.tag(t, backupID, snapshotTag)
	// One that copies the marker but names another volume.
	lying, err := f.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(gone),
		Description:       aws.String(rootvolume.SnapshotDescription("vol-0123456789abcdef0", "i-1", "/dev/xvda")),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{snapshotTag}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ec2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(gone)}); err != nil {
		t.Fatal(err)
	}

	f.advance(t, 1000*time.Hour)
	sum := f.run(t, f.cleaner(func(c *rootvolume.Cleaner) { c.MinAge = 0 }))
	for id, want := range map[string]rootvolume.Reason{
		forgedVolume:                   rootvolume.ReasonUnrecorded,
		backupID:                       rootvolume.ReasonUnmarked,
		aws.ToString(lying.SnapshotId): rootvolume.ReasonMarkMismatch,
	} {
		if got := reason(sum, id); got != want {
			t.Errorf("%s kept because %q, want %q", id, got, want)
		}
	}
	if !exists(t, f.ec2, "volume", forgedVolume) || !exists(t, f.ec2, "snapshot", backupID) {
		t.Errorf("a resource with forged tags was deleted")
	}
	if n := f.calls.Count("EC2.DeleteVolume") + f.calls.Count("EC2.DeleteSnapshot"); n != 0 {
		t.Errorf("delete calls = %d, want 0", n)
	}
}

func TestSucceededReplacementKeepsTheOldRootThroughTheWindow(t *testing.T) {
	f := newFixture(t)
	inst, oldRoot := f.instance(t, "web")
	held, heldRoot := f.instance(t, "held")
	res := f.replace(t, inst)
	f.replace(t, held)
	f.advance(t, 10*time.Minute) // both tasks succeed
	f.tag(t, heldRoot, keepTag)
	if got, _ := rootvolume.RootVolumeOf(awstest.DescribeInstance(t, f.ec2, inst)); got == oldRoot {
		t.Fatalf("root of %s is still %s after the task succeeded", inst, oldRoot)
	}

	sum := f.run(t, f.cleaner())
	if !exists(t, f.ec2, "volume", oldRoot) || reason(sum, oldRoot) != rootvolume.ReasonRollbackWindow {
		t.Errorf("inside the window: old root kept because %q, want the rollback window", reason(sum, oldRoot))
	}
	if rec := records(t, f.db)[oldRoot]; rec.State != rootvolume.StateSucceeded || rec.CompletedAt == nil || rec.TaskID != res.TaskID {
		t.Errorf("record = %+v, want succeeded with the completion time", rec)
	}

	f.advance(t, 24*time.Hour) // the task completed 5 minutes after its start: 24h5m have passed
	f.calls.Reset()
	dry := f.run(t, f.cleaner(func(c *rootvolume.Cleaner) { c.DryRun = true }))
	if !slices.Contains(dry.VolumesToDelete, oldRoot) || len(dry.VolumesDeleted) != 0 {
		t.Errorf("dry run = to delete %v, deleted %v, want %s listed and nothing deleted", dry.VolumesToDelete, dry.VolumesDeleted, oldRoot)
	}
	if w := f.calls.Writes(); len(w) != 0 {
		t.Errorf("dry run write calls = %v, want none", w)
	}

	sum = f.run(t, f.cleaner())
	if diff := cmp.Diff([]string{oldRoot}, sum.VolumesDeleted); diff != "" {
		t.Errorf("volumes deleted after the window (-want +got):\n%s", diff)
	}
	if exists(t, f.ec2, "volume", oldRoot) {
		t.Errorf("old root %s still exists after the window", oldRoot)
	}
	if !exists(t, f.ec2, "volume", heldRoot) || reason(sum, heldRoot) != rootvolume.ReasonKeepTag {
		t.Errorf("KEEP_TAG volume kept because %q, want %q", reason(sum, heldRoot), rootvolume.ReasonKeepTag)
	}
	f.advance(t, 300*24*time.Hour)
	f.run(t, f.cleaner())
	if !exists(t, f.ec2, "volume", heldRoot) {
		t.Errorf("KEEP_TAG volume deleted")
	}
}

func TestExternalReplacementIsAdoptedOnlyWhenAsked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst, oldRoot := f.instance(t, "console-replaced")
	// snapshot-on-volume-create confirmed its root when it was created.
	if _, err := f.snaps.SnapshotNow(ctx, inst); err != nil {
		t.Fatal(err)
	}
	if _, err := f.fake.StartExternal(ctx, inst); err != nil {
		t.Fatal(err)
	}
	f.advance(t, 25*time.Hour)

	sum := f.run(t, f.cleaner())
	if !exists(t, f.ec2, "volume", oldRoot) || reason(sum, oldRoot) != rootvolume.ReasonExternal {
		t.Errorf("ADOPT_EXTERNAL_REPLACEMENTS=false: old root kept because %q, want %q", reason(sum, oldRoot), rootvolume.ReasonExternal)
	}
	sum = f.run(t, f.cleaner(func(c *rootvolume.Cleaner) { c.AdoptExternal = true }))
	if !slices.Contains(sum.VolumesDeleted, oldRoot) || exists(t, f.ec2, "volume", oldRoot) {
		t.Errorf("ADOPT_EXTERNAL_REPLACEMENTS=true: deleted %v, want %s", sum.VolumesDeleted, oldRoot)
	}
	if root, _ := rootvolume.RootVolumeOf(awstest.DescribeInstance(t, f.ec2, inst)); !exists(t, f.ec2, "volume", root) {
		t.Errorf("the instance's new root %s is gone", root)
	}
}

// disabledAMI lists one more AMI, disabled, which EC2 shows only to a
// DescribeImages that asks IncludeDisabled (moto has no DisableImage).
type disabledAMI struct {
	*replacetest.Caller
	snapshotID string
}

func (d disabledAMI) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, opts ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	out, err := d.Caller.DescribeImages(ctx, in, opts...)
	if err == nil && aws.ToBool(in.IncludeDisabled) {
		out.Images = append(out.Images, types.Image{ImageId: aws.String("ami-0disabled0000000a"), State: types.ImageStateDisabled,
			BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(d.snapshotID)}}}})
	}
	return out, err
}

func TestSuiteSnapshotOfAGoneVolumeIsDeletedUnlessAnAMIUsesIt(t *testing.T) {
	for _, backsAMI := range []bool{false, true} {
		f := newFixture(t)
		res := rootvolume.SnapshotResult{SnapshotID: f.orphanedSnapshot(t, "snapped")}
		f.advance(t, 2*time.Hour)
		h := f.cleaner()
		if backsAMI {
			h.cleaner.EC2 = disabledAMI{Caller: f.caller, snapshotID: res.SnapshotID}
		}
		sum := f.run(t, h)
		if backsAMI {
			if !exists(t, f.ec2, "snapshot", res.SnapshotID) || reason(sum, res.SnapshotID) != rootvolume.ReasonBacksAMI {
				t.Errorf("snapshot backing a disabled AMI kept because %q, want %q", reason(sum, res.SnapshotID), rootvolume.ReasonBacksAMI)
			}
			continue
		}
		if !slices.Contains(sum.SnapshotsDeleted, res.SnapshotID) || exists(t, f.ec2, "snapshot", res.SnapshotID) {
			t.Errorf("snapshots deleted = %v, want the suite's snapshot %s of a gone volume (kept because %q)",
				sum.SnapshotsDeleted, res.SnapshotID, reason(sum, res.SnapshotID))
		}
	}
}

// failOne fails the delete of one volume, as a throttled or locked one would.
type failOne struct {
	*replacetest.Caller
	id string
}

func (f failOne) DeleteVolume(ctx context.Context, in *ec2.DeleteVolumeInput, opts ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error) {
	if aws.ToString(in.VolumeId) == f.id {
		return nil, errors.New("VolumeInUse: injected")
	}
	return f.Caller.DeleteVolume(ctx, in, opts...)
}

func TestOneFailedDeleteDoesNotStopTheRun(t *testing.T) {
	f := newFixture(t)
	var roots []string
	for _, name := range []string{"a", "b", "c"} {
		inst, root := f.instance(t, name)
		f.replace(t, inst)
		roots = append(roots, root)
	}
	f.advance(t, 25*time.Hour)
	slices.Sort(roots)
	h := f.cleaner()
	h.cleaner.EC2 = failOne{Caller: f.caller, id: roots[0]}
	sum := f.run(t, h)
	deleted := slices.Sorted(slices.Values(sum.VolumesDeleted))
	if diff := cmp.Diff(roots[1:], deleted); diff != "" {
		t.Errorf("deleted (-want +got):\n%s", diff)
	}
	if len(sum.Failed) != 1 || sum.Failed[0].ID != roots[0] {
		t.Errorf("failed = %+v, want only %s", sum.Failed, roots[0])
	}
}

// failImages makes the AMI listing fail: nothing may be deleted on doubt.
type failImages struct{ *replacetest.Caller }

func (failImages) DescribeImages(context.Context, *ec2.DescribeImagesInput, ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	return nil, errors.New("RequestLimitExceeded: injected")
}

func TestListingFailureDeletesNothing(t *testing.T) {
	f := newFixture(t)
	inst, root := f.instance(t, "x")
	res, err := f.snaps.SnapshotNow(context.Background(), inst)
	if err != nil {
		t.Fatal(err)
	}
	f.replace(t, inst)
	f.advance(t, 25*time.Hour)
	if _, err := f.ec2.DeleteVolume(context.Background(), &ec2.DeleteVolumeInput{VolumeId: aws.String(root)}); err != nil {
		t.Fatal(err)
	}
	h := f.cleaner()
	h.cleaner.EC2 = failImages{f.caller}
	if _, err := h.Handle(context.Background(), scheduled(t)); err == nil {
		t.Errorf("Handle = nil error, want the listing failure returned")
	}
	if !exists(t, f.ec2, "snapshot", res.SnapshotID) {
		t.Errorf("something was deleted although the AMI listing failed")
	}
	if w := f.calls.Writes(); w["EC2.DeleteVolume"]+w["EC2.DeleteSnapshot"] != 0 {
		t.Errorf("delete calls = %v, want none", w)
	}
}
