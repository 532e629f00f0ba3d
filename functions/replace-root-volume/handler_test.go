package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
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
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

type fixture struct {
	cfg    aws.Config // the account's administrator
	acct   string
	keyARN string // the record key
	ec2    *ec2.Client
	db     *dynamodb.Client
	fake   *replacetest.Tasks
	// caller is the fake as the function's role sees it: the EC2 API the
	// handler calls.
	caller *replacetest.Caller
	role   *iam.Function
	calls  *awstest.Calls
	h      *handler
}

const table = "replacements"

func newFixture(t *testing.T) fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with the function's clients built on
// wrap(config), such as a config whose calls go through injected faults.
func newFixtureWith(t *testing.T, wrap func(aws.Config) aws.Config) fixture {
	t.Helper()
	cfg, acct := awstest.Moto(t).Config(t)
	replacetest.CreateTable(t, dynamodb.NewFromConfig(cfg), table)
	calls := awstest.NewCalls()
	keyARN, keyID := replacetest.RecordKey(t, cfg)
	// The function's calls run under its role, as infra/sam writes it.
	role := iam.As(t, cfg, acct, "root-volume.yaml", "ReplaceRootVolumeFunction",
		iam.Options{Names: map[string]string{"RootVolumeReplacementsTable": table, "RootVolumeRecordKey": keyID}})
	fnCfg := role.Config
	if wrap != nil {
		fnCfg = wrap(fnCfg)
	}
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	// The fake does EC2's own work for a task, so it acts as the account;
	// the function reaches it through its role.
	fake := replacetest.Clocked(ec2.NewFromConfig(cfg), time.Now().UTC().Truncate(time.Second))
	caller := fake.As(ec2.NewFromConfig(fnCfg), role.Authorizer("ec2"))
	return fixture{
		cfg: cfg, acct: acct, keyARN: keyARN,
		ec2: ec2.NewFromConfig(cfg), db: dynamodb.NewFromConfig(cfg), fake: fake, caller: caller, role: role, calls: calls,
		h: &handler{
			log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
			replacer: &rootvolume.Replacer{
				EC2: caller, Store: &rootvolume.Store{DB: dynamodb.NewFromConfig(fnCfg), Table: table, Sealer: replacetest.Sealer(fnCfg, keyARN)},
				SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag,
				OptInTag: rootvolume.DefaultOptInTag, Now: fake.Now,
			},
		},
	}
}

var optIn = awstest.Tag("root-volume-replace", "enabled")

// optedIn starts an instance that carries the opt-in tag.
func optedIn(t *testing.T, c *ec2.Client, name string) types.Instance {
	t.Helper()
	inst := awstest.RunInstance(t, c, name)
	if _, err := c.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{aws.ToString(inst.InstanceId)}, Tags: []types.Tag{optIn}}); err != nil {
		t.Fatal(err)
	}
	return inst
}

func records(t *testing.T, db *dynamodb.Client) []rootvolume.Replacement {
	return replacetest.Items[rootvolume.Replacement](t, db, table, rootvolume.KindReplacement)
}

func request(t *testing.T, file, instanceID string) json.RawMessage {
	t.Helper()
	return sample.Bytes(t, "replace-root-volume", file, "i-0123456789abcdef0", instanceID)
}

var replaceTag = awstest.Tag("replace-snapshot", "true")

// suiteSnapshot takes a snapshot of the volume as snapshot-on-volume-create
// does: tagged, with the suite's marker naming the volume.
func suiteSnapshot(t *testing.T, c *ec2.Client, volumeID string) string {
	t.Helper()
	out, err := c.CreateSnapshot(context.Background(), &ec2.CreateSnapshotInput{
		VolumeId: aws.String(volumeID), Description: aws.String(rootvolume.SnapshotDescription(volumeID, "i-0123456789abcdef0", "/dev/xvda")),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{replaceTag}}},
	})
	if err != nil {
		t.Fatalf("CreateSnapshot(%s): %v", volumeID, err)
	}
	return aws.ToString(out.SnapshotId)
}

func volumeTags(t *testing.T, c *ec2.Client, id string) map[string]string {
	t.Helper()
	out, err := c.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{VolumeIds: []string{id}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("DescribeVolumes(%s) = %v, %v", id, out, err)
	}
	tags := map[string]string{}
	for _, tag := range out.Volumes[0].Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags
}

func TestLatestSnapshotOfTheCurrentRootIsRestored(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "mac-builder")
	other := optedIn(t, f.ec2, "other")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	otherRoot, _ := rootvolume.RootVolumeOf(other)

	suiteSnapshot(t, f.ec2, root)       // older
	time.Sleep(1100 * time.Millisecond) // moto's StartTime has whole seconds
	newest := suiteSnapshot(t, f.ec2, root)
	awstest.CreateSnapshot(t, f.ec2, root) // newest of all, but untagged
	suiteSnapshot(t, f.ec2, otherRoot)     // another volume's

	res, err := f.h.Handle(context.Background(), request(t, "latest-snapshot.json", id))
	if err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if res.SnapshotID != newest || res.ReplacedVolumeID != root || res.TaskID == "" {
		t.Errorf("Handle = %+v, want snapshot %s of root %s and a task", res, newest, root)
	}
	if got := volumeTags(t, f.ec2, root)["delete-volume"]; got != "true" {
		t.Errorf("old root volume tag delete-volume = %q, want true", got)
	}
	tasks, err := f.fake.DescribeReplaceRootVolumeTasks(context.Background(), &ec2.DescribeReplaceRootVolumeTasksInput{})
	if err != nil || len(tasks.ReplaceRootVolumeTasks) != 1 {
		t.Fatalf("tasks = %+v, %v, want 1", tasks, err)
	}
	task := tasks.ReplaceRootVolumeTasks[0]
	if aws.ToString(task.SnapshotId) != newest || aws.ToString(task.InstanceId) != id || aws.ToBool(task.DeleteReplacedRootVolume) {
		t.Errorf("task = snapshot %s instance %s delete %v, want %s %s false",
			aws.ToString(task.SnapshotId), aws.ToString(task.InstanceId), aws.ToBool(task.DeleteReplacedRootVolume), newest, id)
	}
	if !rootvolume.ReplacedTaskTag.On(task.Tags) {
		t.Errorf("task tags = %+v, want replaced-volume=true on the task", task.Tags)
	}
	recs := records(t, f.db)
	if len(recs) != 1 || recs[0].TaskID != res.TaskID || recs[0].ReplacedVolumeID != root || recs[0].State != rootvolume.StateStarted ||
		recs[0].SnapshotID != newest || recs[0].InstanceID != id || recs[0].RequestedBy == "" || recs[0].ID != res.RecordID {
		t.Errorf("records = %+v, want one started record of task %s replacing %s, who asked said", recs, res.TaskID, root)
	}
}

func TestRetriedRequestWritesOneRecordAndStartsOneTask(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "builder")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)

	first, err := f.h.Handle(context.Background(), request(t, "eventbridge-request.json", id))
	if err != nil {
		t.Fatalf("Handle = %v", err)
	}
	// EventBridge delivers at least once; Lambda retries a failed attempt.
	again, err := f.h.Handle(context.Background(), request(t, "eventbridge-request.json", id))
	if err != nil {
		t.Fatalf("Handle again = %v", err)
	}
	if again.ClientToken != first.ClientToken || again.TaskID != first.TaskID || !again.Retried {
		t.Errorf("retry token/task/retried = %s/%s/%v, want %s/%s/true", again.ClientToken, again.TaskID, again.Retried, first.ClientToken, first.TaskID)
	}
	if n := f.fake.Started(); n != 1 {
		t.Errorf("tasks started = %d, want 1", n)
	}
	recs := records(t, f.db)
	if len(recs) != 1 {
		t.Fatalf("records = %d, want 1: %+v", len(recs), recs)
	}
	if want := "EventBridge event"; !strings.HasPrefix(recs[0].RequestedBy, want) || !strings.Contains(recs[0].RequestedBy, "lambda-suite.root-volume") {
		t.Errorf("record requestedBy = %q, want the event's source and account", recs[0].RequestedBy)
	}
}

func TestInstanceWithoutOptInIsRefusedAndNothingChanges(t *testing.T) {
	f := newFixture(t)
	inst := awstest.RunInstance(t, f.ec2, "not-opted-in")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)
	// A look-alike tag with another value is no opt-in either.
	if _, err := f.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{id},
		Tags: []types.Tag{awstest.Tag("root-volume-replace", "disabled")}}); err != nil {
		t.Fatal(err)
	}
	f.calls.Reset()

	_, err := f.h.Handle(context.Background(), request(t, "latest-snapshot.json", id))
	if !errors.Is(err, rootvolume.ErrNotOptedIn) || !strings.Contains(err.Error(), "root-volume-replace=enabled") {
		t.Errorf("Handle(not opted in) = %v, want ErrNotOptedIn naming the tag", err)
	}
	if w := f.calls.Writes(); len(w) != 0 || f.fake.Started() != 0 {
		t.Errorf("write calls = %v, tasks = %d, want none", w, f.fake.Started())
	}
	if recs := records(t, f.db); len(recs) != 0 {
		t.Errorf("records = %+v, want none", recs)
	}
	if tag := volumeTags(t, f.ec2, root)["delete-volume"]; tag != "" {
		t.Errorf("root volume tagged delete-volume=%q", tag)
	}
}

func TestRefusedTaskLeavesNoLabelAndARefusedRecord(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "refused")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	f.fake.Refuse(id, "IncorrectState", "The instance is not in a valid state for this operation")

	_, err := f.h.Handle(context.Background(), request(t, "launch-state.json", id))
	if err == nil || !strings.Contains(err.Error(), "IncorrectState") {
		t.Fatalf("Handle(refused) = %v, want EC2's refusal", err)
	}
	if tag := volumeTags(t, f.ec2, root)["delete-volume"]; tag != "" {
		t.Errorf("live root volume tagged delete-volume=%q after a refused task", tag)
	}
	recs := records(t, f.db)
	if len(recs) != 1 || recs[0].State != rootvolume.StateRefused || !strings.Contains(recs[0].Reason, "IncorrectState") || recs[0].TaskID != "" {
		t.Errorf("records = %+v, want one refused record with EC2's reason", recs)
	}
}

func TestFailedTaskLeavesTheRootInPlace(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "fails")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)
	f.fake.Fail(id)

	res, err := f.h.Handle(context.Background(), request(t, "latest-snapshot.json", id))
	if err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if err := f.fake.Advance(context.Background(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	out, err := f.fake.DescribeReplaceRootVolumeTasks(context.Background(), &ec2.DescribeReplaceRootVolumeTasksInput{ReplaceRootVolumeTaskIds: []string{res.TaskID}})
	if err != nil || len(out.ReplaceRootVolumeTasks) != 1 || out.ReplaceRootVolumeTasks[0].TaskState != types.ReplaceRootVolumeTaskStateFailed {
		t.Fatalf("task = %+v, %v, want failed", out, err)
	}
	// A failed task leaves the root where it was. The label put on when EC2
	// accepted the task comes off when the cleanup records the failure
	// (root-volume-cleanup's tests).
	if got, _ := rootvolume.RootVolumeOf(awstest.DescribeInstance(t, f.ec2, id)); got != root {
		t.Errorf("root after a failed task = %s, want still %s", got, root)
	}
}

func TestPendingSnapshotIsNotChosen(t *testing.T) {
	// moto completes snapshots at once, so the choice among states is
	// shown on the decision function itself.
	now := time.Now()
	snap := func(id, vol string, state types.SnapshotState, age time.Duration, tags ...types.Tag) types.Snapshot {
		return types.Snapshot{SnapshotId: aws.String(id), VolumeId: aws.String(vol), State: state, StartTime: aws.Time(now.Add(-age)), Tags: tags,
			Description: aws.String(rootvolume.SnapshotDescription(vol, "i-1", "/dev/xvda"))}
	}
	snaps := []types.Snapshot{
		snap("snap-old", "vol-0000000a", types.SnapshotStateCompleted, 3*time.Hour, replaceTag),
		snap("snap-done", "vol-0000000a", types.SnapshotStateCompleted, 2*time.Hour, replaceTag),
		snap("snap-pending", "vol-0000000a", types.SnapshotStatePending, time.Minute, replaceTag),
		snap("snap-other", "vol-0000000b", types.SnapshotStateCompleted, 0, replaceTag),
		snap("snap-untagged", "vol-0000000a", types.SnapshotStateCompleted, 0),
	}
	if got := rootvolume.NewestUsableSnapshot(snaps, "vol-0000000a", rootvolume.DefaultSnapshotTag); got != "snap-done" {
		t.Errorf("NewestUsableSnapshot = %q, want snap-done", got)
	}
	if got := rootvolume.NewestUsableSnapshot(snaps[2:3], "vol-0000000a", rootvolume.DefaultSnapshotTag); got != "" {
		t.Errorf("NewestUsableSnapshot(only pending) = %q, want none", got)
	}
}

func TestLaunchStateFromEventBridge(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "lab")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)

	res, err := f.h.Handle(context.Background(), request(t, "launch-state.json", id))
	if err != nil || res.SnapshotID != "" || !res.DeleteReplacedVolume {
		t.Fatalf("Handle(launch-state) = %+v, %v, want no snapshot, delete requested", res, err)
	}
	tasks, err := f.fake.DescribeReplaceRootVolumeTasks(context.Background(), &ec2.DescribeReplaceRootVolumeTasksInput{})
	if err != nil || len(tasks.ReplaceRootVolumeTasks) != 1 {
		t.Fatalf("tasks = %+v, %v", tasks, err)
	}
	// deleteReplacedVolume: true does not ask EC2 to delete the old root
	// at once: it goes through the cleanup, after RETAIN_REPLACED.
	if task := tasks.ReplaceRootVolumeTasks[0]; task.SnapshotId != nil || aws.ToBool(task.DeleteReplacedRootVolume) {
		t.Errorf("task snapshot %v delete %v, want none and false", task.SnapshotId, aws.ToBool(task.DeleteReplacedRootVolume))
	}

	// The EventBridge form carries the same request in its detail.
	snap := suiteSnapshot(t, f.ec2, root)
	res, err = f.h.Handle(context.Background(), request(t, "eventbridge-request.json", id))
	if err != nil || res.SnapshotID != snap {
		t.Errorf("Handle(EventBridge) = %+v, %v, want snapshot %s", res, err, snap)
	}
}

func TestInvalidRequestsChangeNothing(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "ci")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	other := awstest.RunInstance(t, f.ec2, "other")
	otherRoot, _ := rootvolume.RootVolumeOf(other)
	foreign := suiteSnapshot(t, f.ec2, otherRoot)

	tests := []struct {
		name, body, wantMsg string
	}{
		{"no snapshot yet", `{"instanceId":"` + id + `","restoreTo":"latest-snapshot"}`, "no completed snapshot"},
		{"bad instance ID", `{"instanceId":"i-xyz","restoreTo":"latest-snapshot"}`, "instanceId"},
		{"unknown instance", `{"instanceId":"i-0aaaaaaaaaaaaaaaa","restoreTo":"launch-state"}`, "not found"},
		{"bad snapshot ID", `{"instanceId":"` + id + `","restoreTo":"snap-!"}`, "restoreTo"},
		{"unknown snapshot", `{"instanceId":"` + id + `","restoreTo":"snap-0aaaaaaaaaaaaaaaa"}`, "not found"},
		{"another volume's snapshot", `{"instanceId":"` + id + `","restoreTo":"` + foreign + `"}`, "not of the current root volume"},
		{"missing restoreTo", `{"instanceId":"` + id + `"}`, "restoreTo"},
		{"misspelt field", `{"instanceId":"` + id + `","restore_to":"launch-state"}`, "unknown field"},
		{"not JSON", `instanceId=` + id, "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.h.Handle(context.Background(), json.RawMessage(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || !errors.Is(err, rootvolume.ErrBadEvent) {
				t.Errorf("Handle(%s) = %v, want a bad-request error mentioning %q", tt.body, err, tt.wantMsg)
			}
		})
	}
	if w := f.calls.Writes(); len(w) != 0 || f.fake.Started() != 0 {
		t.Errorf("write calls = %v, tasks = %d, want none", w, f.fake.Started())
	}
	if tag := volumeTags(t, f.ec2, root)["delete-volume"]; tag != "" {
		t.Errorf("root volume tagged delete-volume=%q by a rejected request", tag)
	}
}

func TestVolumeInitializationRateIsPassedToEC2AndRecorded(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "fast-restore")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)

	res, err := f.h.Handle(context.Background(), request(t, "initialization-rate.json", id))
	if err != nil {
		t.Fatalf("Handle = %v", err)
	}
	if got := f.fake.InitializationRate(res.TaskID); got == nil || *got != 300 {
		t.Errorf("task %s asked with VolumeInitializationRate %v, want 300", res.TaskID, got)
	}
	if got := res.VolumeInitializationRate; got == nil || *got != 300 {
		t.Errorf("Handle().VolumeInitializationRate = %v, want 300", got)
	}
	recs := records(t, f.db)
	if len(recs) != 1 || recs[0].VolumeInitializationRate == nil || *recs[0].VolumeInitializationRate != 300 {
		t.Errorf("records = %+v, want one recording volumeInitializationRate 300", recs)
	}
	// The same request without a rate is another request to EC2: it gets
	// another client token (EC2 refuses a token seen with other parameters).
	if plain := rootvolume.ClientToken(id, root, res.SnapshotID, false); res.ClientToken == plain {
		t.Errorf("client token with a rate = the token without one (%s)", plain)
	}
}

func TestVolumeInitializationRateOutOfRangeIsRefusedAndNothingChanges(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "too-fast")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)
	f.calls.Reset()

	for _, rate := range []string{"99", "301", "150.5", `"200"`} {
		t.Run(rate, func(t *testing.T) {
			body := `{"instanceId":"` + id + `","restoreTo":"latest-snapshot","volumeInitializationRate":` + rate + `}`
			_, err := f.h.Handle(context.Background(), json.RawMessage(body))
			if err == nil || !errors.Is(err, rootvolume.ErrBadEvent) || !strings.Contains(err.Error(), "volumeInitializationRate") {
				t.Errorf("Handle(rate %s) = %v, want a bad-request error naming volumeInitializationRate", rate, err)
			}
		})
	}
	if w := f.calls.Writes(); len(w) != 0 || f.fake.Started() != 0 {
		t.Errorf("write calls = %v, tasks = %d, want none", w, f.fake.Started())
	}
	if recs := records(t, f.db); len(recs) != 0 {
		t.Errorf("records = %+v, want none", recs)
	}
}
