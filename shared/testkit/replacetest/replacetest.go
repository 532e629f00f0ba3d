// Package replacetest fakes the EC2 calls that moto 5.2.1 lacks and the
// root-volume functions make: CreateReplaceRootVolumeTask,
// DescribeReplaceRootVolumeTasks and ListImagesInRecycleBin. It keeps EC2's
// semantics: a repeated client token returns the same task and starts no
// second one; a task goes pending → in-progress → succeeded (or failed) as
// its clock passes; a succeeded task does to the instance what EC2 does (a
// new volume from the snapshot, or the AMI's, takes the root device, and
// the old one stays detached unless asked to be deleted), through the real
// EC2 client, which serves every other call. Tests drive the clock;
// make local's stand-in uses the wall clock.
package replacetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// Tasks is the fake. Its zero durations complete a task at once.
type Tasks struct {
	*ec2.Client

	// Pending and Running are how long a task stays pending, then
	// in-progress.
	Pending, Running time.Duration
	// Clock is the time; nil means the wall clock.
	Clock func() time.Time
	// RecycleBin is what ListImagesInRecycleBin answers.
	RecycleBin []types.ImageRecycleBinInfo

	mu      sync.Mutex
	locks   []types.LockedSnapshotsInfo
	byToken map[string]string
	tasks   []*task
	refuse  map[string]error
	fail    map[string]bool
	lose    map[string]bool
	created int
	advance func(time.Duration)
}

type task struct {
	out       types.ReplaceRootVolumeTask
	start     time.Time
	deleteOld bool
	// rate is the VolumeInitializationRate asked for, which EC2's task
	// does not list back.
	rate    *int64
	fails   bool
	settled bool
}

// New returns a fake in front of c.
func New(c *ec2.Client) *Tasks { return &Tasks{Client: c} }

// Clocked returns a fake whose time starts at start and moves only with
// Advance; tasks stay pending a minute and run four more.
func Clocked(c *ec2.Client, start time.Time) *Tasks {
	f := &Tasks{Client: c, Pending: time.Minute, Running: 4 * time.Minute}
	now := start
	f.Clock = func() time.Time {
		f.mu.Lock()
		defer f.mu.Unlock()
		return now
	}
	f.advance = func(d time.Duration) {
		f.mu.Lock()
		defer f.mu.Unlock()
		now = now.Add(d)
	}
	return f
}

// Now is the fake's time.
func (f *Tasks) Now() time.Time {
	if f.Clock != nil {
		return f.Clock()
	}
	return time.Now()
}

// Advance moves a Clocked fake's time on and settles the tasks that are
// due, changing the instances as EC2 would.
func (f *Tasks) Advance(ctx context.Context, d time.Duration) error {
	if f.advance != nil {
		f.advance(d)
	}
	return f.Settle(ctx)
}

// Refuse makes CreateReplaceRootVolumeTask on the instance fail with the
// API error code, as EC2 refuses a task (IncorrectState, …).
func (f *Tasks) Refuse(instanceID, code, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse == nil {
		f.refuse = map[string]error{}
	}
	f.refuse[instanceID] = &smithy.GenericAPIError{Code: code, Message: message}
}

// Accept undoes Refuse: EC2 accepts the instance's tasks again.
func (f *Tasks) Accept(instanceID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.refuse, instanceID)
}

// Fail makes the tasks started on the instance from now on fail: they end
// failed, and the instance keeps its root volume.
func (f *Tasks) Fail(instanceID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == nil {
		f.fail = map[string]bool{}
	}
	f.fail[instanceID] = true
}

// LoseAnswer makes the next CreateReplaceRootVolumeTask on the instance
// start its task and then fail as a lost answer does: a server error
// (5xx) after the work was done, which the caller cannot tell from a task
// never made.
func (f *Tasks) LoseAnswer(instanceID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lose == nil {
		f.lose = map[string]bool{}
	}
	f.lose[instanceID] = true
}

// Seed lists a task as EC2 would (for accounts seeded at scale): it is
// never settled, so it changes no instance.
func (f *Tasks) Seed(t types.ReplaceRootVolumeTask) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks = append(f.tasks, &task{out: t, settled: true})
}

// Started is how many tasks were started.
func (f *Tasks) Started() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.created
}

// InitializationRate is the VolumeInitializationRate the task was asked
// for, or nil (none, or no such task).
func (f *Tasks) InitializationRate(taskID string) *int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t := f.find(taskID); t != nil {
		return t.rate
	}
	return nil
}

// CreateReplaceRootVolumeTask starts a task, or returns the task started
// with the same client token.
func (f *Tasks) CreateReplaceRootVolumeTask(ctx context.Context, in *ec2.CreateReplaceRootVolumeTaskInput, _ ...func(*ec2.Options)) (*ec2.CreateReplaceRootVolumeTaskOutput, error) {
	instanceID := aws.ToString(in.InstanceId)
	now := f.Now().UTC()
	f.mu.Lock()
	token := aws.ToString(in.ClientToken)
	if id, ok := f.byToken[token]; ok && token != "" {
		t := f.find(id)
		out := t.out
		f.mu.Unlock()
		return &ec2.CreateReplaceRootVolumeTaskOutput{ReplaceRootVolumeTask: &out}, nil
	}
	if err := f.refuse[instanceID]; err != nil {
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()

	// EC2 checks the instance and the snapshot before it accepts a task.
	inst, oldRoot, err := f.root(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	if snap := aws.ToString(in.SnapshotId); snap != "" {
		out, err := f.Client.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
		if err != nil {
			return nil, err
		}
		if got := aws.ToString(out.Snapshots[0].VolumeId); got != oldRoot {
			return nil, apiError("InvalidParameterValue", "snapshot %s is of volume %s, not of the root volume %s", snap, got, oldRoot)
		}
	}

	if r := in.VolumeInitializationRate; r != nil && (*r < 100 || *r > 300) {
		// EC2's valid range (API reference, CreateReplaceRootVolumeTask).
		return nil, apiError("InvalidParameterValue", "VolumeInitializationRate %d is outside 100-300 MiB/s", *r)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	t := &task{start: now, deleteOld: aws.ToBool(in.DeleteReplacedRootVolume), fails: f.fail[instanceID], rate: in.VolumeInitializationRate}
	t.out = types.ReplaceRootVolumeTask{
		ReplaceRootVolumeTaskId:  aws.String("replacevol-" + randomHex(17)),
		InstanceId:               aws.String(instanceID),
		TaskState:                types.ReplaceRootVolumeTaskStatePending,
		StartTime:                aws.String(now.Format(time.RFC3339)),
		SnapshotId:               in.SnapshotId,
		ImageId:                  in.ImageId,
		DeleteReplacedRootVolume: in.DeleteReplacedRootVolume,
	}
	if t.out.SnapshotId == nil && t.out.ImageId == nil {
		t.out.ImageId = inst.ImageId
	}
	for _, spec := range in.TagSpecifications {
		t.out.Tags = append(t.out.Tags, spec.Tags...)
	}
	f.tasks = append(f.tasks, t)
	if f.byToken == nil {
		f.byToken = map[string]string{}
	}
	f.byToken[token] = aws.ToString(t.out.ReplaceRootVolumeTaskId)
	f.created++
	out := t.out
	if f.lose[instanceID] {
		delete(f.lose, instanceID)
		return nil, &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "injected: the answer was lost", Fault: smithy.FaultServer}
	}
	return &ec2.CreateReplaceRootVolumeTaskOutput{ReplaceRootVolumeTask: &out}, nil
}

// StartExternal starts a task as someone outside the suite would (the
// console, the CLI): no client token, no record.
func (f *Tasks) StartExternal(ctx context.Context, instanceID string) (string, error) {
	out, err := f.CreateReplaceRootVolumeTask(ctx, &ec2.CreateReplaceRootVolumeTaskInput{InstanceId: aws.String(instanceID)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ReplaceRootVolumeTask.ReplaceRootVolumeTaskId), nil
}

// DescribeReplaceRootVolumeTasks lists the tasks (by ID or instance-id
// filter), settling those that are due first.
func (f *Tasks) DescribeReplaceRootVolumeTasks(ctx context.Context, in *ec2.DescribeReplaceRootVolumeTasksInput, _ ...func(*ec2.Options)) (*ec2.DescribeReplaceRootVolumeTasksOutput, error) {
	if err := f.Settle(ctx); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var instances []string
	for _, fl := range in.Filters {
		if aws.ToString(fl.Name) == "instance-id" {
			instances = append(instances, fl.Values...)
		}
	}
	out := &ec2.DescribeReplaceRootVolumeTasksOutput{}
	for _, t := range f.tasks {
		id := aws.ToString(t.out.ReplaceRootVolumeTaskId)
		if len(in.ReplaceRootVolumeTaskIds) > 0 && !slices.Contains(in.ReplaceRootVolumeTaskIds, id) ||
			len(instances) > 0 && !slices.Contains(instances, aws.ToString(t.out.InstanceId)) {
			continue
		}
		out.ReplaceRootVolumeTasks = append(out.ReplaceRootVolumeTasks, t.out)
	}
	return out, nil
}

// Lock locks a snapshot as LockSnapshot does (DescribeLockedSnapshots
// lists it): mode is governance or compliance (in its cooling-off period
// when cooloff is set), until expires.
func (f *Tasks) Lock(snapshotID string, mode types.LockMode, cooloff bool, expires time.Time) {
	now := f.Now().UTC() // a Clocked fake's clock takes mu
	f.mu.Lock()
	defer f.mu.Unlock()
	state := types.LockState(mode)
	if mode == types.LockModeCompliance && cooloff {
		state = types.LockStateComplianceCooloff
	}
	f.locks = append(f.locks, types.LockedSnapshotsInfo{SnapshotId: aws.String(snapshotID), LockState: state,
		LockExpiresOn: aws.Time(expires.UTC()), LockCreatedOn: aws.Time(now)})
}

// DescribeLockedSnapshots lists the locks Lock made, by snapshot ID and
// lock-state filter as EC2 does, in one page.
func (f *Tasks) DescribeLockedSnapshots(_ context.Context, in *ec2.DescribeLockedSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLockedSnapshotsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var states []string
	for _, fl := range in.Filters {
		if aws.ToString(fl.Name) != "lock-state" {
			return nil, apiError("InvalidParameterValue", "unknown filter %s", aws.ToString(fl.Name))
		}
		states = append(states, fl.Values...)
	}
	out := &ec2.DescribeLockedSnapshotsOutput{}
	for _, l := range f.locks {
		if len(in.SnapshotIds) > 0 && !slices.Contains(in.SnapshotIds, aws.ToString(l.SnapshotId)) ||
			len(states) > 0 && !slices.Contains(states, string(l.LockState)) {
			continue
		}
		out.Snapshots = append(out.Snapshots, l)
	}
	return out, nil
}

// ListImagesInRecycleBin answers RecycleBin.
func (f *Tasks) ListImagesInRecycleBin(context.Context, *ec2.ListImagesInRecycleBinInput, ...func(*ec2.Options)) (*ec2.ListImagesInRecycleBinOutput, error) {
	return &ec2.ListImagesInRecycleBinOutput{Images: f.RecycleBin}, nil
}

// Settle moves every task on to the state its age gives it; a task that
// reaches succeeded changes the instance through the real client.
func (f *Tasks) Settle(ctx context.Context) error {
	now := f.Now().UTC()
	f.mu.Lock()
	var due []*task
	for _, t := range f.tasks {
		if t.settled {
			continue
		}
		switch age := now.Sub(t.start); {
		case age >= f.Pending+f.Running:
			due = append(due, t)
		case age >= f.Pending:
			t.out.TaskState = types.ReplaceRootVolumeTaskStateInProgress
		}
	}
	f.mu.Unlock()
	for _, t := range due {
		state := types.ReplaceRootVolumeTaskStateFailed
		if !t.fails {
			if err := f.swap(ctx, t); err != nil {
				return fmt.Errorf("replace root volume of %s: %w", aws.ToString(t.out.InstanceId), err)
			}
			state = types.ReplaceRootVolumeTaskStateSucceeded
		}
		f.mu.Lock()
		t.settled = true
		t.out.TaskState = state
		t.out.CompleteTime = aws.String(t.start.Add(f.Pending + f.Running).Format(time.RFC3339))
		f.mu.Unlock()
	}
	return nil
}

func (f *Tasks) find(id string) *task {
	for _, t := range f.tasks {
		if aws.ToString(t.out.ReplaceRootVolumeTaskId) == id {
			return t
		}
	}
	return nil
}

func (f *Tasks) root(ctx context.Context, instanceID string) (types.Instance, string, error) {
	out, err := f.Client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		return types.Instance{}, "", err
	}
	if len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		return types.Instance{}, "", apiError("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", instanceID)
	}
	inst := out.Reservations[0].Instances[0]
	device := aws.ToString(inst.RootDeviceName)
	for _, m := range inst.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToString(m.DeviceName) == device {
			return inst, aws.ToString(m.Ebs.VolumeId), nil
		}
	}
	return inst, "", apiError("IncorrectState", "instance %s has no EBS volume at its root device %s", instanceID, device)
}

// swap does what a succeeded task does to the instance.
func (f *Tasks) swap(ctx context.Context, t *task) error {
	instanceID := aws.ToString(t.out.InstanceId)
	inst, oldRoot, err := f.root(ctx, instanceID)
	if err != nil {
		return err
	}
	device := aws.ToString(inst.RootDeviceName)
	vols, err := f.Client.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{oldRoot}})
	if err != nil {
		return err
	}
	old := vols.Volumes[0]
	source := aws.ToString(t.out.SnapshotId)
	if source == "" {
		source = f.imageRootSnapshot(ctx, aws.ToString(t.out.ImageId))
	}
	in := &ec2.CreateVolumeInput{AvailabilityZone: old.AvailabilityZone, VolumeType: old.VolumeType}
	if source != "" {
		in.SnapshotId = aws.String(source)
	} else {
		in.Size = old.Size
	}
	created, err := f.Client.CreateVolume(ctx, in)
	if err != nil {
		return err
	}
	if _, err := f.Client.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(oldRoot), InstanceId: aws.String(instanceID), Device: aws.String(device)}); err != nil {
		return err
	}
	if _, err := f.Client.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: created.VolumeId, InstanceId: aws.String(instanceID), Device: aws.String(device)}); err != nil {
		return err
	}
	if t.deleteOld {
		if _, err := f.Client.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(oldRoot)}); err != nil {
			return err
		}
	}
	return nil
}

// imageRootSnapshot returns the snapshot behind the AMI's root device, or
// "" (then the new volume starts blank, which is all moto can tell apart).
func (f *Tasks) imageRootSnapshot(ctx context.Context, imageID string) string {
	if imageID == "" {
		return ""
	}
	out, err := f.Client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{imageID}})
	if err != nil || len(out.Images) == 0 {
		return ""
	}
	im := out.Images[0]
	for _, m := range im.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToString(m.DeviceName) == aws.ToString(im.RootDeviceName) {
			return aws.ToString(m.Ebs.SnapshotId)
		}
	}
	return ""
}

func apiError(code, format string, args ...any) error {
	return &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// randomHex is n lowercase hex digits: the random part of an EC2 ID
// (replacevol-…) has that shape, so crypto/rand.Text does not fit.
func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// CreateTable makes a replacements table as the stack does (key id, TTL on
// expiresAt).
func CreateTable(tb testing.TB, db *dynamodb.Client, name string) {
	tb.Helper()
	awstest.CreateTable(tb, db, name, "expiresAt")
}

// Items reads every item of one kind (rootvolume.KindReplacement, …) through
// the SDK (not through the code under test) into T, a tagged struct such as
// rootvolume.Replacement.
func Items[T any](tb testing.TB, db *dynamodb.Client, table, kind string) []T {
	tb.Helper()
	out, err := db.Scan(context.Background(), &dynamodb.ScanInput{
		TableName: aws.String(table), ConsistentRead: aws.Bool(true),
		FilterExpression:          aws.String("#kind = :kind"),
		ExpressionAttributeNames:  map[string]string{"#kind": "kind"},
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":kind": &dbtypes.AttributeValueMemberS{Value: kind}},
	})
	if err != nil {
		tb.Fatalf("Scan(%s): %v", table, err)
	}
	var items []T
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
		tb.Fatalf("Scan(%s): %v", table, err)
	}
	return items
}

// RecordKey makes the stack's record key (RootVolumeRecordKey: an HMAC_256
// key) in the account of cfg, its administrator, and returns its ARN and
// the name to bind in iam.Options.Names (the key's ID).
func RecordKey(tb testing.TB, cfg aws.Config) (arn, id string) {
	tb.Helper()
	arn = awstest.HMACKey(tb, kms.NewFromConfig(cfg))
	return arn, arn[strings.LastIndex(arn, "/")+1:]
}

// Sealer is the sealer of a function whose clients are built on cfg (its
// role's configuration), with the record key keyARN.
func Sealer(cfg aws.Config, keyARN string) *proof.Sealer {
	return &proof.Sealer{KMS: kms.NewFromConfig(cfg), KeyID: keyARN}
}
