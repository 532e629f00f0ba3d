package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const sampleVolume = "vol-0123456789abcdef0"

// sample reads a sample event from events/, with its volume ID replaced
// by one that exists in the test's account.
func sample(t *testing.T, name, volumeID string) json.RawMessage {
	t.Helper()
	return samples.Bytes(t, "snapshot-on-volume-create", name, sampleVolume, volumeID)
}

type fixture struct {
	ec2   *ec2.Client
	db    *dynamodb.Client
	calls *awstest.Calls
	h     *handler
	role  aws.Config // the function's role, without call counting
	admin aws.Config // the account's administrator
	fnCfg aws.Config // the function's clients' configuration
}

// opsTopic is the name the ops topic (OPS_TOPIC_ARN) has in the tests.
const opsTopic = "root-volume-ops"

const table = "replacements"

func newFixture(t *testing.T, attachWait time.Duration) fixture {
	t.Helper()
	return newFixtureWith(t, attachWait, nil)
}

// newFixtureWith is newFixture with the function's clients built on
// wrap(config), such as a config whose calls go through injected faults.
func newFixtureWith(t *testing.T, attachWait time.Duration, wrap func(aws.Config) aws.Config) fixture {
	t.Helper()
	cfg, acct := awstest.Moto(t).Config(t)
	calls := awstest.NewCalls()
	keyARN, keyID := replacetest.RecordKey(t, cfg)
	// The function's calls run under its role, as infra/sam writes it.
	role := iam.As(t, cfg, acct, "root-volume.yaml", "SnapshotOnVolumeCreateFunction",
		iam.Options{Names: map[string]string{"RootVolumeReplacementsTable": table, "RootVolumeRecordKey": keyID, "OpsTopic": opsTopic}}).Config
	fnCfg := role.Copy()
	if wrap != nil {
		fnCfg = wrap(fnCfg)
	}
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	replacetest.CreateTable(t, dynamodb.NewFromConfig(cfg), table)
	return fixture{
		ec2:   ec2.NewFromConfig(cfg),
		db:    dynamodb.NewFromConfig(cfg),
		calls: calls,
		role:  role,
		admin: cfg,
		fnCfg: fnCfg,
		h: &handler{log: log, snapshotter: &rootvolume.Snapshotter{
			EC2: ec2.NewFromConfig(fnCfg), Tag: rootvolume.DefaultSnapshotTag, AttachWait: attachWait,
			Store:   &rootvolume.Store{DB: dynamodb.NewFromConfig(fnCfg), Table: table, Sealer: replacetest.Sealer(fnCfg, keyARN)},
			PollMin: 200 * time.Millisecond, PollMax: 400 * time.Millisecond, Log: log,
		}},
	}
}

func TestRootVolumeIsSnapshottedOnceWithTags(t *testing.T) {
	f := newFixture(t, time.Second)
	inst := awstest.RunInstance(t, f.ec2, "build-host")
	root, err := rootvolume.RootVolumeOf(inst)
	if err != nil {
		t.Fatal(err)
	}
	ev := sample(t, "create-volume-available.json", root)

	res, err := f.h.Handle(context.Background(), ev)
	if err != nil || res.Outcome != rootvolume.SnapshotCreated {
		t.Fatalf("Handle(root volume) = %+v, %v, want outcome created", res, err)
	}
	snaps := awstest.SnapshotsOf(t, f.ec2, root)
	if len(snaps) != 1 {
		t.Fatalf("snapshots of %s = %d, want 1", root, len(snaps))
	}
	want := map[string]string{
		"replace-snapshot":         "true",
		rootvolume.TagInstanceID:   aws.ToString(inst.InstanceId),
		rootvolume.TagSourceVolume: root,
	}
	got := map[string]string{}
	for _, tag := range snaps[0].Tags {
		got[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("snapshot tag %s = %q, want %q (all tags %v)", k, got[k], v, got)
		}
	}
	if aws.ToString(snaps[0].SnapshotId) != res.SnapshotID {
		t.Errorf("result snapshot %s, but the account has %s", res.SnapshotID, aws.ToString(snaps[0].SnapshotId))
	}
	// The description, which EC2 fixes at creation, carries the marker and
	// the volume: what the cleanup trusts.
	if vol, ok := rootvolume.MarkedVolume(aws.ToString(snaps[0].Description)); !ok || vol != root {
		t.Errorf("snapshot description %q, want the suite's marker and %s", aws.ToString(snaps[0].Description), root)
	}
	if roots := rootRecords(t, f.db); len(roots) != 1 || roots[0].VolumeID != root || roots[0].InstanceID != aws.ToString(inst.InstanceId) ||
		roots[0].VolumeCreated.IsZero() {
		t.Errorf("root records = %+v, want one for %s of %s with its creation time", roots, root, aws.ToString(inst.InstanceId))
	}

	// EventBridge delivers at least once: the same event again.
	f.calls.Reset()
	res, err = f.h.Handle(context.Background(), ev)
	if err != nil || res.Outcome != rootvolume.SnapshotExists || res.SnapshotID != aws.ToString(snaps[0].SnapshotId) {
		t.Errorf("Handle(redelivered) = %+v, %v, want outcome exists with %s", res, err, aws.ToString(snaps[0].SnapshotId))
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, root)); n != 1 {
		t.Errorf("snapshots after redelivery = %d, want still 1", n)
	}
	if n := f.calls.Count("EC2.CreateSnapshot"); n != 0 {
		t.Errorf("CreateSnapshot calls on redelivery = %d, want 0", n)
	}
}

func rootRecords(t *testing.T, db *dynamodb.Client) []rootvolume.RootObservation {
	roots := replacetest.Items[rootvolume.RootObservation](t, db, table, rootvolume.KindRoot)
	return slices.DeleteFunc(roots, func(o rootvolume.RootObservation) bool { return o.Kind != "root" })
}

func snapshotNow(t *testing.T, instanceID string) json.RawMessage {
	t.Helper()
	return samples.Bytes(t, "snapshot-on-volume-create", "snapshot-now.json", "i-0123456789abcdef0", instanceID)
}

func TestSnapshotNowMakesOneSnapshotEvenWhenDeliveredTwice(t *testing.T) {
	f := newFixture(t, time.Second)
	inst := awstest.RunInstance(t, f.ec2, "on-demand")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	// A tagged snapshot without the suite's marker (someone's, or one made
	// before the suite marked its snapshots) does not count as one the
	// suite made.
	awstest.CreateSnapshot(t, f.ec2, root, awstest.Tag("replace-snapshot", "true"))
	ev := snapshotNow(t, id)

	res, err := f.h.Handle(context.Background(), ev)
	if err != nil || res.Outcome != rootvolume.SnapshotCreated || res.VolumeID != root {
		t.Fatalf("Handle(snapshot now) = %+v, %v, want created of %s", res, err, root)
	}
	res2, err := f.h.Handle(context.Background(), ev)
	if err != nil || res2.Outcome != rootvolume.SnapshotExists || res2.SnapshotID != res.SnapshotID {
		t.Errorf("Handle(redelivered) = %+v, %v, want exists with %s", res2, err, res.SnapshotID)
	}
	snaps := slices.DeleteFunc(awstest.SnapshotsOf(t, f.ec2, root), func(s types.Snapshot) bool {
		return aws.ToString(s.SnapshotId) != res.SnapshotID
	})
	if len(snaps) != 1 {
		t.Fatalf("snapshot %s of %s not found", res.SnapshotID, root)
	}
	if vol, ok := rootvolume.MarkedVolume(aws.ToString(snaps[0].Description)); !ok || vol != root || !rootvolume.DefaultSnapshotTag.On(snaps[0].Tags) {
		t.Errorf("snapshot = %q %v, want the marker, %s and the tag, as createVolume's", aws.ToString(snaps[0].Description), snaps[0].Tags, root)
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, root)); n != 2 {
		t.Errorf("snapshots of %s = %d, want the unmarked one and one new", root, n)
	}
	if n := f.calls.Count("EC2.CreateSnapshot"); n != 1 {
		t.Errorf("CreateSnapshot calls = %d, want 1", n)
	}

	for _, bad := range []string{
		strings.ReplaceAll(string(ev), id, "i-0aaaaaaaaaaaaaaaa"), // no such instance
		strings.ReplaceAll(string(ev), id, "not-an-instance"),
		strings.ReplaceAll(string(ev), `"instanceId"`, `"instance"`),
	} {
		res, err := f.h.Handle(context.Background(), json.RawMessage(bad))
		if err != nil || res.Outcome != rootvolume.SnapshotRejected || res.Reason == "" {
			t.Errorf("Handle(%s) = %+v, %v, want rejected with a reason", bad, res, err)
		}
	}
}

func TestDataVolumeIsNotSnapshotted(t *testing.T) {
	f := newFixture(t, time.Second)
	inst := awstest.RunInstance(t, f.ec2, "db")
	data := awstest.CreateVolume(t, f.ec2)
	awstest.AttachVolume(t, f.ec2, data, aws.ToString(inst.InstanceId), "/dev/sdf")

	res, err := f.h.Handle(context.Background(), sample(t, "create-volume-available.json", data))
	if err != nil || res.Outcome != rootvolume.SnapshotSkipped || !strings.Contains(res.Reason, "not a root volume") {
		t.Errorf("Handle(data volume) = %+v, %v, want skipped as not a root volume", res, err)
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, data)); n != 0 {
		t.Errorf("snapshots of the data volume = %d, want 0", n)
	}
	if n := f.calls.Count("EC2.CreateSnapshot"); n != 0 {
		t.Errorf("CreateSnapshot calls = %d, want 0", n)
	}
}

func TestUnattachedVolumeAsksForRetryAfterBoundedWait(t *testing.T) {
	f := newFixture(t, 1500*time.Millisecond)
	vol := awstest.CreateVolume(t, f.ec2)

	start := time.Now()
	res, err := f.h.Handle(context.Background(), sample(t, "create-volume-available.json", vol))
	if !errors.Is(err, rootvolume.ErrNotAttached) {
		t.Fatalf("Handle(unattached) = %+v, %v, want ErrNotAttached", res, err)
	}
	// The wait is bounded by ATTACH_WAIT: it polled more than once, and
	// gave up rather than waiting on (a generous bound, not a timing test).
	if polls := f.calls.Count("EC2.DescribeVolumes"); polls < 2 {
		t.Errorf("DescribeVolumes calls = %d, want the volume polled again while waiting", polls)
	}
	if waited := time.Since(start); waited > 30*time.Second {
		t.Errorf("waited %s, want the wait bounded by ATTACH_WAIT", waited)
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, vol)); n != 0 {
		t.Errorf("snapshots of the unattached volume = %d, want 0", n)
	}
}

func TestWaitNeverPassesTheDeadline(t *testing.T) {
	f := newFixture(t, time.Hour)
	vol := awstest.CreateVolume(t, f.ec2)
	// An hour's ATTACH_WAIT and 6 s left: it waits what the deadline's
	// margin allows, then asks for a retry, with the margin (1.2 s) still
	// free. (3 s left only 0.6 s, too little on a loaded 2-core machine.)
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	_, err := f.h.Handle(ctx, sample(t, "create-volume-available.json", vol))
	if !errors.Is(err, rootvolume.ErrNotAttached) {
		t.Fatalf("Handle near the deadline = %v, want ErrNotAttached", err)
	}
	if ctx.Err() != nil {
		t.Errorf("Handle returned after the deadline")
	}
	if polls := f.calls.Count("EC2.DescribeVolumes"); polls < 2 {
		t.Errorf("DescribeVolumes calls = %d, want the volume polled again within the time left", polls)
	}
}

// TestShortInvocationStillWaitsForTheAttachment: the margin kept before
// the deadline scales with the time given (shared/deadline), so a root
// volume attached a moment after its create event is snapshotted even with
// 4 s left; a fixed 5 s margin gave up at once.
func TestShortInvocationStillWaitsForTheAttachment(t *testing.T) {
	f := newFixture(t, time.Hour)
	inst := awstest.RunInstance(t, f.ec2, "replaced-root")
	old, err := rootvolume.RootVolumeOf(inst)
	if err != nil {
		t.Fatal(err)
	}
	device := aws.ToString(inst.RootDeviceName)
	if _, err := f.ec2.DetachVolume(context.Background(), &ec2.DetachVolumeInput{VolumeId: aws.String(old), InstanceId: inst.InstanceId, Device: aws.String(device)}); err != nil {
		t.Fatal(err)
	}
	root := awstest.CreateVolume(t, f.ec2)
	attached := make(chan error, 1)
	go func() {
		time.Sleep(500 * time.Millisecond) // the event arrives before the attachment
		_, err := f.ec2.AttachVolume(context.Background(), &ec2.AttachVolumeInput{
			VolumeId: aws.String(root), InstanceId: inst.InstanceId, Device: aws.String(device)})
		attached <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	res, err := f.h.Handle(ctx, sample(t, "create-volume-available.json", root))
	if aerr := <-attached; aerr != nil {
		t.Fatal(aerr)
	}
	if err != nil || res.Outcome != rootvolume.SnapshotCreated {
		t.Fatalf("Handle(root attached after 0.5 s, 4 s left) = %+v, %v, want outcome created", res, err)
	}
	if ctx.Err() != nil {
		t.Errorf("Handle returned after the deadline")
	}
}

func TestBadEventsChangeNothing(t *testing.T) {
	f := newFixture(t, time.Second)
	inst := awstest.RunInstance(t, f.ec2, "web")
	root, _ := rootvolume.RootVolumeOf(inst)

	tests := []struct {
		name    string
		event   json.RawMessage
		outcome string
	}{
		{"failed creation", sample(t, "create-volume-failed.json", root), rootvolume.SnapshotIgnored},
		{"snapshot ARN", sample(t, "not-a-volume.json", root), rootvolume.SnapshotRejected},
		{"empty resources", sample(t, "no-resources.json", root), rootvolume.SnapshotRejected},
		{"garbage JSON", json.RawMessage(`{"detail-type": "EBS Volume Notif`), rootvolume.SnapshotRejected},
		{"JSON null", json.RawMessage(`null`), rootvolume.SnapshotRejected},
		{"other detail-type", json.RawMessage(`{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","resources":["arn:aws:ec2:us-east-1:123456789012:volume/` + root + `"],"detail":{}}`), rootvolume.SnapshotRejected},
		{"detail not an object", json.RawMessage(`{"source":"aws.ec2","detail-type":"EBS Volume Notification","resources":["arn:aws:ec2:us-east-1:123456789012:volume/` + root + `"],"detail":"createVolume"}`), rootvolume.SnapshotRejected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			res, err := f.h.Handle(context.Background(), tt.event)
			if err != nil || res.Outcome != tt.outcome || res.Reason == "" {
				t.Errorf("Handle = %+v, %v, want outcome %s with a reason and no error", res, err, tt.outcome)
			}
			if n := f.calls.Total(); n != 0 {
				t.Errorf("AWS calls = %d (%s), want none", n, f.calls)
			}
		})
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, root)); n != 0 {
		t.Errorf("snapshots = %d, want 0", n)
	}
}
