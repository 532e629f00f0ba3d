package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/awstest"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// replaceTasks fakes CreateReplaceRootVolumeTask, which moto lacks, behind
// the real EC2 client: every other call goes to moto. Like EC2, it returns
// the same task for a repeated client token.
type replaceTasks struct {
	*ec2.Client
	mu      sync.Mutex
	calls   []ec2.CreateReplaceRootVolumeTaskInput
	byToken map[string]string
}

func (f *replaceTasks) CreateReplaceRootVolumeTask(_ context.Context, in *ec2.CreateReplaceRootVolumeTaskInput, _ ...func(*ec2.Options)) (*ec2.CreateReplaceRootVolumeTaskOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, *in)
	if f.byToken == nil {
		f.byToken = map[string]string{}
	}
	id, ok := f.byToken[aws.ToString(in.ClientToken)]
	if !ok {
		id = "replacevol-" + strings.Repeat("0", 16) + string(rune('a'+len(f.byToken)))
		f.byToken[aws.ToString(in.ClientToken)] = id
	}
	return &ec2.CreateReplaceRootVolumeTaskOutput{ReplaceRootVolumeTask: &types.ReplaceRootVolumeTask{
		ReplaceRootVolumeTaskId: aws.String(id), InstanceId: in.InstanceId, TaskState: types.ReplaceRootVolumeTaskStatePending,
	}}, nil
}

type fixture struct {
	ec2   *ec2.Client
	fake  *replaceTasks
	calls *awstest.Calls
	h     *handler
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	cfg, _ := awstest.Moto(t).Config(t)
	calls := awstest.NewCalls()
	fnCfg := cfg.Copy()
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	fake := &replaceTasks{Client: ec2.NewFromConfig(fnCfg)}
	return fixture{
		ec2: ec2.NewFromConfig(cfg), fake: fake, calls: calls,
		h: &handler{
			log:      slog.New(slog.NewJSONHandler(io.Discard, nil)),
			replacer: &rootvolume.Replacer{EC2: fake, SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag},
		},
	}
}

func request(t *testing.T, file, instanceID string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "events", "replace-root-volume", file))
	if err != nil {
		t.Fatal(err)
	}
	return json.RawMessage(strings.ReplaceAll(string(b), "i-0123456789abcdef0", instanceID))
}

var replaceTag = awstest.Tag("replace-snapshot", "true")

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
	inst := awstest.RunInstance(t, f.ec2, "mac-builder")
	other := awstest.RunInstance(t, f.ec2, "other")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	otherRoot, _ := rootvolume.RootVolumeOf(other)

	awstest.CreateSnapshot(t, f.ec2, root, replaceTag) // older
	time.Sleep(1100 * time.Millisecond)                // moto's StartTime has whole seconds
	newest := awstest.CreateSnapshot(t, f.ec2, root, replaceTag)
	awstest.CreateSnapshot(t, f.ec2, root)                  // newest of all, but untagged
	awstest.CreateSnapshot(t, f.ec2, otherRoot, replaceTag) // another volume's

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
	if len(f.fake.calls) != 1 {
		t.Fatalf("CreateReplaceRootVolumeTask calls = %d, want 1", len(f.fake.calls))
	}
	call := f.fake.calls[0]
	if aws.ToString(call.SnapshotId) != newest || aws.ToString(call.InstanceId) != id || aws.ToBool(call.DeleteReplacedRootVolume) {
		t.Errorf("task input = snapshot %s instance %s delete %v, want %s %s false",
			aws.ToString(call.SnapshotId), aws.ToString(call.InstanceId), aws.ToBool(call.DeleteReplacedRootVolume), newest, id)
	}
	if len(call.TagSpecifications) != 1 || call.TagSpecifications[0].ResourceType != types.ResourceTypeReplaceRootVolumeTask ||
		!rootvolume.ReplacedTaskTag.On(call.TagSpecifications[0].Tags) {
		t.Errorf("task tags = %+v, want replaced-volume=true on the task", call.TagSpecifications)
	}

	// A retried request carries the same client token, so EC2 starts no second task.
	again, err := f.h.Handle(context.Background(), request(t, "latest-snapshot.json", id))
	if err != nil {
		t.Fatalf("Handle again = %v", err)
	}
	if again.ClientToken != res.ClientToken || again.TaskID != res.TaskID {
		t.Errorf("retry token/task = %s/%s, want %s/%s", again.ClientToken, again.TaskID, res.ClientToken, res.TaskID)
	}
}

func TestPendingSnapshotIsNotChosen(t *testing.T) {
	// moto completes snapshots at once, so the choice among states is
	// shown on the decision function itself.
	now := time.Now()
	snap := func(id, vol string, state types.SnapshotState, age time.Duration, tags ...types.Tag) types.Snapshot {
		return types.Snapshot{SnapshotId: aws.String(id), VolumeId: aws.String(vol), State: state, StartTime: aws.Time(now.Add(-age)), Tags: tags}
	}
	snaps := []types.Snapshot{
		snap("snap-old", "vol-a", types.SnapshotStateCompleted, 3*time.Hour, replaceTag),
		snap("snap-done", "vol-a", types.SnapshotStateCompleted, 2*time.Hour, replaceTag),
		snap("snap-pending", "vol-a", types.SnapshotStatePending, time.Minute, replaceTag),
		snap("snap-other", "vol-b", types.SnapshotStateCompleted, 0, replaceTag),
		snap("snap-untagged", "vol-a", types.SnapshotStateCompleted, 0),
	}
	if got := rootvolume.NewestUsableSnapshot(snaps, "vol-a", rootvolume.DefaultSnapshotTag); got != "snap-done" {
		t.Errorf("NewestUsableSnapshot = %q, want snap-done", got)
	}
	if got := rootvolume.NewestUsableSnapshot(snaps[2:3], "vol-a", rootvolume.DefaultSnapshotTag); got != "" {
		t.Errorf("NewestUsableSnapshot(only pending) = %q, want none", got)
	}
}

func TestLaunchStateFromEventBridge(t *testing.T) {
	f := newFixture(t)
	inst := awstest.RunInstance(t, f.ec2, "lab")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)

	res, err := f.h.Handle(context.Background(), request(t, "launch-state.json", id))
	if err != nil || res.SnapshotID != "" || !res.DeleteReplacedVolume {
		t.Fatalf("Handle(launch-state) = %+v, %v, want no snapshot, delete requested", res, err)
	}
	if call := f.fake.calls[0]; call.SnapshotId != nil || !aws.ToBool(call.DeleteReplacedRootVolume) {
		t.Errorf("task input snapshot %v delete %v, want none and true", call.SnapshotId, aws.ToBool(call.DeleteReplacedRootVolume))
	}

	// The EventBridge form carries the same request in its detail.
	snap := awstest.CreateSnapshot(t, f.ec2, root, replaceTag)
	res, err = f.h.Handle(context.Background(), request(t, "eventbridge-request.json", id))
	if err != nil || res.SnapshotID != snap {
		t.Errorf("Handle(EventBridge) = %+v, %v, want snapshot %s", res, err, snap)
	}
}

func TestInvalidRequestsChangeNothing(t *testing.T) {
	f := newFixture(t)
	inst := awstest.RunInstance(t, f.ec2, "ci")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	other := awstest.RunInstance(t, f.ec2, "other")
	otherRoot, _ := rootvolume.RootVolumeOf(other)
	foreign := awstest.CreateSnapshot(t, f.ec2, otherRoot, replaceTag)

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
	if w := f.calls.Writes(); len(w) != 0 || len(f.fake.calls) != 0 {
		t.Errorf("write calls = %v, tasks = %d, want none", w, len(f.fake.calls))
	}
	if tag := volumeTags(t, f.ec2, root)["delete-volume"]; tag != "" {
		t.Errorf("root volume tagged delete-volume=%q by a rejected request", tag)
	}
}
