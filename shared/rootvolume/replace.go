package rootvolume

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/ec2tag"
)

// What a replacement restores the root volume to.
const (
	RestoreLatestSnapshot = "latest-snapshot"
	RestoreLaunchState    = "launch-state"
)

// ReplaceRequest is the input contract of replace-root-volume, given directly
// or as the detail of an EventBridge event.
type ReplaceRequest struct {
	InstanceID           string `json:"instanceId"`
	RestoreTo            string `json:"restoreTo"`
	DeleteReplacedVolume bool   `json:"deleteReplacedVolume"`
	// VolumeInitializationRate, when set, is the rate (MiB/s) at which EC2
	// initialises the new root volume from its snapshot (the EBS
	// Provisioned Rate for Volume Initialization), instead of lazily on
	// first read: CreateReplaceRootVolumeTask, VolumeInitializationRate,
	// valid range 100-300 MiB/s
	// (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateReplaceRootVolumeTask.html,
	// https://docs.aws.amazon.com/ebs/latest/userguide/initalize-volume.html).
	VolumeInitializationRate *int64 `json:"volumeInitializationRate,omitempty"`
}

// The range EC2 accepts for VolumeInitializationRate, in MiB/s.
const (
	MinVolumeInitializationRate = 100
	MaxVolumeInitializationRate = 300
)

// DecodeReplaceRequest reads a request given directly or wrapped in an
// EventBridge event (its detail). Unknown fields are refused, so that a
// misspelt option is not silently dropped. Every error wraps ErrBadEvent.
func DecodeReplaceRequest(raw []byte) (ReplaceRequest, error) {
	var envelope struct {
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(raw, &envelope); err != nil {
		return ReplaceRequest{}, fmt.Errorf("%w: not a JSON object: %v", ErrBadEvent, err)
	}
	body := raw
	if envelope.DetailType != "" || envelope.Detail != nil {
		// An EventBridge event: only the suite's request is one. The rule
		// matches nothing else, but a person can invoke with any event.
		if envelope.DetailType != ReplaceDetailType || envelope.Source != EventSource {
			return ReplaceRequest{}, fmt.Errorf("%w: source %.80q detail-type %.80q, want %s %q", ErrBadEvent,
				envelope.Source, envelope.DetailType, EventSource, ReplaceDetailType)
		}
		body = envelope.Detail
	}
	var req ReplaceRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return ReplaceRequest{}, fmt.Errorf("%w: request: %v", ErrBadEvent, err)
	}
	if dec.More() {
		return ReplaceRequest{}, fmt.Errorf("%w: request: trailing data after the JSON object", ErrBadEvent)
	}
	return req, req.Validate()
}

// Validate checks the IDs' shapes before anything is called.
func (r ReplaceRequest) Validate() error {
	if !awsid.IsInstanceID(r.InstanceID) {
		return fmt.Errorf("%w: instanceId %q is not an EC2 instance ID (i-…)", ErrBadEvent, r.InstanceID)
	}
	switch {
	case r.RestoreTo == RestoreLatestSnapshot, r.RestoreTo == RestoreLaunchState:
	case awsid.IsSnapshotID(r.RestoreTo):
	default:
		return fmt.Errorf("%w: restoreTo %q is not %q, %q or a snapshot ID (snap-…)", ErrBadEvent, r.RestoreTo, RestoreLatestSnapshot, RestoreLaunchState)
	}
	if v := r.VolumeInitializationRate; v != nil && (*v < MinVolumeInitializationRate || *v > MaxVolumeInitializationRate) {
		return fmt.Errorf("%w: volumeInitializationRate %d is outside %d-%d MiB/s", ErrBadEvent, *v, MinVolumeInitializationRate, MaxVolumeInitializationRate)
	}
	return nil
}

// Invocation is the invocation a request came in: its key, the same when
// Lambda retries it or EventBridge delivers its event again, and who asked.
type Invocation struct {
	// Key is "event:<EventBridge event ID>", "request:<Lambda request ID>"
	// for a direct invocation, or "" when neither is known (a test, a local
	// run), which leaves the client token alone to tell retries apart.
	Key string
	// RequestedBy says who asked: an EventBridge event's source, account
	// and ID, or a direct invocation (whose caller Lambda does not pass to
	// the function: CloudTrail's Invoke record names it, by request ID).
	RequestedBy string
}

// InvocationOf tells the invocation from its input and Lambda's request ID.
func InvocationOf(raw []byte, requestID string) Invocation {
	var ev struct {
		ID         string `json:"id"`
		DetailType string `json:"detail-type"`
		Source     string `json:"source"`
		Account    string `json:"account"`
	}
	if json.Unmarshal(raw, &ev) == nil && ev.DetailType != "" {
		inv := Invocation{RequestedBy: fmt.Sprintf("EventBridge event %s from source %s, account %s", ev.ID, ev.Source, ev.Account)}
		if ev.ID != "" {
			inv.Key = "event:" + ev.ID
		}
		return inv
	}
	inv := Invocation{RequestedBy: "direct invocation, Lambda request " + requestID}
	if requestID != "" {
		inv.Key = "request:" + requestID
	}
	return inv
}

// ErrNotOptedIn refuses an instance that does not carry the opt-in tag.
var ErrNotOptedIn = fmt.Errorf("%w: instance does not opt in to root-volume replacement", ErrBadEvent)

// ErrRootChanged refuses to ask EC2 again for a recorded replacement that
// EC2 never accepted once the instance's root is another volume: something
// else replaced it since.
var ErrRootChanged = errors.New("the instance's root volume changed since the request")

// ReplaceResult says what a replacement chose and started.
type ReplaceResult struct {
	TaskID               string `json:"taskId"`
	TaskState            string `json:"taskState,omitempty"`
	InstanceID           string `json:"instanceId"`
	ReplacedVolumeID     string `json:"replacedVolumeId"`
	RestoreTo            string `json:"restoreTo"`
	SnapshotID           string `json:"snapshotId,omitempty"`
	DeleteReplacedVolume bool   `json:"deleteReplacedVolume"`
	// VolumeInitializationRate is the rate asked of EC2 (MiB/s), if any.
	VolumeInitializationRate *int64 `json:"volumeInitializationRate,omitempty"`
	ClientToken              string `json:"clientToken"`
	RecordID                 string `json:"recordId,omitempty"`
	// Retried is set when the request had been recorded before.
	Retried bool `json:"retried,omitempty"`
}

// Replacer starts root-volume replacements.
type Replacer struct {
	EC2         replaceAPI
	Store       *Store
	SnapshotTag Tag // marks the snapshots that may be restored
	DeleteTag   Tag // a label put on the replaced root volume once EC2 accepted the task
	OptInTag    Tag // instances must carry it (REPLACE_OPT_IN_TAG)
	Now         func() time.Time
}

// Replace starts a replacement of the instance's root volume. Nothing is
// changed until the instance opts in and the instance, its root volume and
// the snapshot are known to fit together. Then, in this order: the request
// is recorded (once per client token) and tied to its invocation, EC2 is
// asked with that token, and only once EC2 accepted the task is the old
// root labelled. A refused task leaves its record marked refused and no
// label. An invocation that recorded a replacement before (a Lambda retry,
// a redelivered event) carries on with that one, whatever the instance's
// root is now: it never starts a second.
func (r *Replacer) Replace(ctx context.Context, req ReplaceRequest, inv Invocation) (ReplaceResult, error) {
	if err := req.Validate(); err != nil {
		return ReplaceResult{}, err
	}
	res := ReplaceResult{InstanceID: req.InstanceID, RestoreTo: req.RestoreTo, DeleteReplacedVolume: req.DeleteReplacedVolume,
		VolumeInitializationRate: req.VolumeInitializationRate}
	if inv.Key != "" {
		rec, found, err := r.Store.ReplacementOf(ctx, inv.Key)
		if err != nil {
			return res, err
		}
		if found && (rec.InstanceID != req.InstanceID || rec.RestoreTo != req.RestoreTo || rec.DeleteReplacedVolume != req.DeleteReplacedVolume ||
			aws.ToInt64(rec.VolumeInitializationRate) != aws.ToInt64(req.VolumeInitializationRate)) {
			// A retry carries the same request; another request with this
			// key is a reused event ID, not a retry: it starts nothing.
			return res, fmt.Errorf("%w: %s was used before for another request (instance %s, restoreTo %s)",
				ErrBadEvent, inv.Key, rec.InstanceID, rec.RestoreTo)
		}
		if found {
			return r.resume(ctx, rec, res)
		}
	}

	inst, err := r.instance(ctx, req.InstanceID)
	if err != nil {
		return res, err
	}
	if !r.OptInTag.On(inst.Tags) {
		return res, fmt.Errorf("%w: %s lacks the tag %s", ErrNotOptedIn, req.InstanceID, r.OptInTag)
	}
	rootVolume, err := RootVolumeOf(inst)
	if err != nil {
		return res, err
	}
	res.ReplacedVolumeID = rootVolume

	switch req.RestoreTo {
	case RestoreLaunchState:
	case RestoreLatestSnapshot:
		res.SnapshotID, err = r.latestSnapshot(ctx, rootVolume)
	default:
		res.SnapshotID, err = r.checkSnapshot(ctx, req.RestoreTo, rootVolume)
	}
	if err != nil {
		return res, err
	}

	base := ClientToken(req.InstanceID, rootVolume, res.SnapshotID, req.DeleteReplacedVolume)
	if rate := req.VolumeInitializationRate; rate != nil {
		base = rateToken(base, *rate)
	}
	now := r.now().UTC()
	var rec Replacement
	for attempt := 0; ; attempt++ {
		if attempt == maxAttempts {
			return res, fmt.Errorf("%w: %d requests for %s on root volume %s were recorded before; not asking again",
				ErrBadEvent, maxAttempts, req.InstanceID, rootVolume)
		}
		res.ClientToken = attemptToken(base, attempt)
		rec, err = r.Store.PutNewReplacement(ctx, Replacement{
			ClientToken: res.ClientToken, InstanceID: req.InstanceID, ReplacedVolumeID: rootVolume,
			RestoreTo: req.RestoreTo, SnapshotID: res.SnapshotID, DeleteReplacedVolume: req.DeleteReplacedVolume,
			VolumeInitializationRate: req.VolumeInitializationRate,
			RequestedBy:              inv.RequestedBy, RequestedAt: now, State: StateRequested, UpdatedAt: now,
		})
		if err == nil {
			break
		}
		if !errors.Is(err, ErrRecordExists) {
			return res, err
		}
		// This token was used before. A request whose task is over (it
		// failed, was refused, or succeeded and the root was put back)
		// takes the next token: the same one would give it the old task
		// back. One still under way is this request, found again.
		over, err := r.over(ctx, rec)
		if err != nil {
			return res, err
		}
		if !over {
			res.Retried = true
			break
		}
	}
	res.RecordID = rec.ID
	// Tied before EC2 is asked: once a task may exist, a retry of this
	// invocation finds this record, not a new root's token.
	if inv.Key != "" {
		if err := r.Store.PutInvocation(ctx, inv.Key, rec.ClientToken, now); err != nil {
			return res, err
		}
	}
	if res.Retried {
		return r.resume(ctx, rec, res)
	}
	return r.start(ctx, rec, res)
}

// maxAttempts bounds the requests recorded for one instance, root volume
// and snapshot: a new token each after a task that is over.
const maxAttempts = 50

// attemptToken is the client token of the attempt-th request for the same
// replacement: the first is ClientToken's, so a redelivered first request
// finds its own task; later ones differ.
func attemptToken(base string, attempt int) string {
	if attempt == 0 {
		return base
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s#%d", base, attempt)))
	return hex.EncodeToString(sum[:])
}

// over reports whether a recorded request is over, so that a new request
// needs a new token: refused or failed by its record, or its task ended by
// EC2's answer (the record is then brought up to date). A task EC2 does not
// list is in doubt: the request is refused.
func (r *Replacer) over(ctx context.Context, rec Replacement) (bool, error) {
	switch rec.State {
	case StateRefused, StateFailed:
		return true, nil
	case StateRequested, StateUnknown:
		return false, nil
	}
	if rec.TaskID == "" {
		return false, nil
	}
	out, err := r.EC2.DescribeReplaceRootVolumeTasks(ctx, &ec2.DescribeReplaceRootVolumeTasksInput{ReplaceRootVolumeTaskIds: []string{rec.TaskID}})
	if err != nil {
		return false, fmt.Errorf("describe task %s of record %s: %w", rec.TaskID, rec.ID, err)
	}
	if len(out.ReplaceRootVolumeTasks) != 1 {
		return false, fmt.Errorf("%w: EC2 does not list task %s of record %s; not asking again", ErrBadEvent, rec.TaskID, rec.ID)
	}
	t := taskFacts(out.ReplaceRootVolumeTasks[0])
	outcome := taskOutcome(t.State)
	if outcome == "" {
		return false, nil
	}
	if outcome != rec.State {
		rec.State, rec.Reason, rec.UpdatedAt = outcome, "EC2 reports the task "+t.State, r.now().UTC()
		if !t.Completed.IsZero() {
			rec.CompletedAt = aws.Time(t.Completed)
		}
		if err := r.Store.UpdateReplacement(ctx, rec); err != nil {
			return false, err
		}
	}
	return true, nil
}

// resume carries on with the replacement an invocation recorded before.
// A task EC2 accepted is not asked for again: only its label may be
// missing. When EC2's answer was lost, EC2 is asked which task it made
// (MatchTask) before anything else. One EC2 never accepted is asked for
// again with the same token, if the instance still opts in and its root is
// still the one recorded: EC2 answers a token it has seen with its task.
func (r *Replacer) resume(ctx context.Context, rec Replacement, res ReplaceResult) (ReplaceResult, error) {
	run := deadline.Start(ctx) // for Finish: what EC2 did is recorded however ctx ends
	defer run.Stop()
	res.TaskID, res.InstanceID, res.ReplacedVolumeID, res.RestoreTo = rec.TaskID, rec.InstanceID, rec.ReplacedVolumeID, rec.RestoreTo
	res.SnapshotID, res.DeleteReplacedVolume, res.ClientToken, res.RecordID, res.Retried = rec.SnapshotID, rec.DeleteReplacedVolume, rec.ClientToken, rec.ID, true
	res.VolumeInitializationRate = rec.VolumeInitializationRate
	if rec.TaskID == "" && rec.State == StateUnknown {
		t, found, err := r.findLostTask(ctx, rec)
		if err != nil {
			return res, err
		}
		if found {
			rec.TaskID, rec.State, rec.Reason, rec.UpdatedAt = t.ID, StateStarted, "EC2 lists a task that matches the lost answer", r.now().UTC()
			rec.TaskStartedAt = aws.Time(t.Started)
			finish, cancel := run.Finish()
			defer cancel()
			if err := r.Store.UpdateReplacement(finish, rec); err != nil {
				return res, err
			}
			res.TaskID, res.TaskState = t.ID, t.State
		}
	}
	if rec.TaskID != "" {
		finish, cancel := run.Finish()
		defer cancel()
		return res, r.label(finish, rec.ReplacedVolumeID)
	}
	inst, err := r.instance(ctx, rec.InstanceID)
	if err != nil {
		return res, err
	}
	if !r.OptInTag.On(inst.Tags) {
		return res, fmt.Errorf("%w: %s lacks the tag %s", ErrNotOptedIn, rec.InstanceID, r.OptInTag)
	}
	if root, err := RootVolumeOf(inst); err != nil || root != rec.ReplacedVolumeID {
		return res, fmt.Errorf("%w: %s was requested to replace %s, its root is %q now (%v); not asking EC2 again",
			ErrRootChanged, rec.InstanceID, rec.ReplacedVolumeID, root, err)
	}
	return r.start(ctx, rec, res)
}

// findLostTask asks EC2 for the instance's tasks and picks the one a
// request whose answer was lost made, if EC2 lists it (MatchTask).
func (r *Replacer) findLostTask(ctx context.Context, rec Replacement) (TaskFacts, bool, error) {
	p := ec2.NewDescribeReplaceRootVolumeTasksPaginator(r.EC2, &ec2.DescribeReplaceRootVolumeTasksInput{
		Filters: []types.Filter{filter("instance-id", rec.InstanceID)}, MaxResults: aws.Int32(taskPage),
	})
	var tasks []TaskFacts
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return TaskFacts{}, false, fmt.Errorf("list tasks of %s: %w", rec.InstanceID, err)
		}
		for _, t := range page.ReplaceRootVolumeTasks {
			tasks = append(tasks, taskFacts(t))
		}
	}
	t, ok := MatchTask(rec, tasks)
	return t, ok, nil
}

// taskFacts reads what the suite needs of EC2's task.
func taskFacts(t types.ReplaceRootVolumeTask) TaskFacts {
	f := TaskFacts{ID: aws.ToString(t.ReplaceRootVolumeTaskId), InstanceID: aws.ToString(t.InstanceId), State: string(t.TaskState),
		SourceVolume: ec2tag.Value(t.Tags, TagSourceVolume), CreatedBy: ec2tag.Value(t.Tags, TagCreatedBy)}
	f.Started, _ = parseTaskTime(t.StartTime)
	f.Completed, _ = parseTaskTime(t.CompleteTime)
	return f
}

// start asks EC2 for the recorded replacement (the client token makes a
// repeated ask return the same task), records what EC2 answered, and
// labels the old root once EC2 accepted the task.
func (r *Replacer) start(ctx context.Context, rec Replacement, res ReplaceResult) (ReplaceResult, error) {
	in := &ec2.CreateReplaceRootVolumeTaskInput{
		InstanceId:  aws.String(rec.InstanceID),
		ClientToken: aws.String(rec.ClientToken),
		// Never EC2's own delete, whatever deleteReplacedVolume says: the
		// old root goes only through the cleanup's rules (the rollback
		// window, KEEP_TAG, a sealed record EC2 confirms).
		DeleteReplacedRootVolume: aws.Bool(false),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeReplaceRootVolumeTask,
			Tags: []types.Tag{
				ReplacedTaskTag.ec2(),
				{Key: aws.String(TagSourceVolume), Value: aws.String(rec.ReplacedVolumeID)},
				{Key: aws.String(TagCreatedBy), Value: aws.String(ReplaceCreatedBy)},
			},
		}},
	}
	if rec.SnapshotID != "" {
		in.SnapshotId = aws.String(rec.SnapshotID)
	}
	in.VolumeInitializationRate = rec.VolumeInitializationRate
	out, taskErr := r.EC2.CreateReplaceRootVolumeTask(ctx, in)

	// The outcome is recorded even when the budget ran out on EC2's answer.
	run := deadline.Start(ctx)
	defer run.Stop()
	finish, cancel := run.Finish()
	defer cancel()
	rec.UpdatedAt = r.now().UTC()
	if taskErr != nil {
		if rec.TaskID == "" {
			// A refusal is EC2's answer; a time-out, a 5xx or a broken
			// connection is none: a task may exist, so the record says
			// unknown and the next request asks EC2 first.
			rec.State, rec.Reason = StateRefused, taskErr.Error()
			if answerLost(taskErr) {
				rec.State = StateUnknown
			}
			if err := r.Store.UpdateReplacement(finish, rec); err != nil {
				return res, errors.Join(fmt.Errorf("start root-volume replacement of %s: %w", rec.InstanceID, taskErr), err)
			}
		}
		return res, fmt.Errorf("start root-volume replacement of %s: %w", rec.InstanceID, taskErr)
	}
	if t := out.ReplaceRootVolumeTask; t != nil {
		res.TaskID, res.TaskState = aws.ToString(t.ReplaceRootVolumeTaskId), string(t.TaskState)
		if rec.State == StateRequested || rec.State == StateRefused || rec.State == StateUnknown {
			rec.State, rec.Reason = StateStarted, ""
		}
		rec.TaskID = res.TaskID
		if start, ok := parseTaskTime(t.StartTime); ok {
			rec.TaskStartedAt = aws.Time(start)
		}
		if err := r.Store.UpdateReplacement(finish, rec); err != nil {
			return res, err
		}
	}
	return res, r.label(finish, rec.ReplacedVolumeID)
}

// answerLost reports whether err carries no answer from EC2: no HTTP
// response at all (a time-out, a broken connection), or a server fault
// (5xx), after the SDK's retries. An answer EC2 gave (4xx) is a refusal.
func answerLost(err error) bool {
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		return resp.HTTPStatusCode() >= 500
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorFault() == smithy.FaultServer
	}
	return true
}

// label puts DELETE_VOLUME_TAG on a replaced root volume. A volume that is
// gone needs no label.
func (r *Replacer) label(ctx context.Context, volumeID string) error {
	_, err := r.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{volumeID}, Tags: []types.Tag{r.DeleteTag.ec2()}})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("label replaced root volume %s: %w", volumeID, err)
	}
	return nil
}

func (r *Replacer) now() time.Time { return clock.Now(r.Now) }

// rateToken is the client token of a request that also asks for a volume
// initialization rate: EC2 refuses a token it saw with other parameters,
// so a request at another rate is another request. A request without a
// rate keeps ClientToken's, the token earlier versions derived.
func rateToken(base string, rate int64) string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s|rate=%d", base, rate)))
	return hex.EncodeToString(sum[:])
}

// ClientToken derives the idempotency token from what the replacement does
// to which volume: a retried request gets the same token (EC2 starts no
// second task), while a later request, made after the root volume changed,
// gets a new one. EC2 allows 64 ASCII characters.
func ClientToken(instanceID, rootVolumeID, snapshotID string, deleteReplaced bool) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{instanceID, rootVolumeID, snapshotID, fmt.Sprint(deleteReplaced)}, "|")))
	return hex.EncodeToString(sum[:])
}

func (r *Replacer) instance(ctx context.Context, instanceID string) (types.Instance, error) {
	out, err := r.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if isNotFound(err) {
		return types.Instance{}, fmt.Errorf("%w: instance %s not found", ErrBadEvent, instanceID)
	}
	if err != nil {
		return types.Instance{}, fmt.Errorf("describe instance %s: %w", instanceID, err)
	}
	for _, res := range out.Reservations {
		for _, inst := range res.Instances {
			return inst, nil
		}
	}
	return types.Instance{}, fmt.Errorf("%w: instance %s not found", ErrBadEvent, instanceID)
}

// RootVolumeOf returns the EBS volume mapped at the instance's root device.
func RootVolumeOf(inst types.Instance) (string, error) {
	root := aws.ToString(inst.RootDeviceName)
	for _, m := range inst.BlockDeviceMappings {
		if m.Ebs != nil && sameDevice(aws.ToString(m.DeviceName), root) {
			return aws.ToString(m.Ebs.VolumeId), nil
		}
	}
	return "", fmt.Errorf("%w: instance %s has no EBS volume at its root device %q", ErrBadEvent, aws.ToString(inst.InstanceId), root)
}

// latestSnapshot picks the newest completed tagged snapshot of the volume.
func (r *Replacer) latestSnapshot(ctx context.Context, volumeID string) (string, error) {
	var snaps []types.Snapshot
	p := ec2.NewDescribeSnapshotsPaginator(r.EC2, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"},
		Filters:  []types.Filter{filter("volume-id", volumeID), r.SnapshotTag.Filter(), filter("status", "completed")},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list snapshots of %s: %w", volumeID, err)
		}
		snaps = append(snaps, page.Snapshots...)
	}
	id := NewestUsableSnapshot(snaps, volumeID, r.SnapshotTag)
	if id == "" {
		return "", fmt.Errorf("%w: no completed snapshot of the current root volume %s tagged %s and carrying the suite's marker", ErrBadEvent, volumeID, r.SnapshotTag)
	}
	return id, nil
}

// NewestUsableSnapshot returns the newest completed snapshot of volumeID
// carrying tag and the suite's marker naming volumeID (IsSuiteSnapshotOf:
// the tag is a label anyone with ec2:CreateTags can put on a snapshot), or
// "". It checks what the server filters claim, since a wrong snapshot here
// would restore another machine's disk, or a state someone chose.
func NewestUsableSnapshot(snaps []types.Snapshot, volumeID string, tag Tag) string {
	usable := slices.DeleteFunc(slices.Clone(snaps), func(s types.Snapshot) bool {
		return !IsSuiteSnapshotOf(s, volumeID) || s.State != types.SnapshotStateCompleted || !tag.On(s.Tags)
	})
	if len(usable) == 0 {
		return ""
	}
	newest := slices.MaxFunc(usable, func(a, b types.Snapshot) int {
		if c := aws.ToTime(a.StartTime).Compare(aws.ToTime(b.StartTime)); c != 0 {
			return c
		}
		return strings.Compare(aws.ToString(a.SnapshotId), aws.ToString(b.SnapshotId))
	})
	return aws.ToString(newest.SnapshotId)
}

// checkSnapshot verifies an explicitly named snapshot was taken of the
// current root volume and is complete.
func (r *Replacer) checkSnapshot(ctx context.Context, snapshotID, volumeID string) (string, error) {
	out, err := r.EC2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapshotID}})
	if isNotFound(err) {
		return "", fmt.Errorf("%w: snapshot %s not found", ErrBadEvent, snapshotID)
	}
	if err != nil {
		return "", fmt.Errorf("describe snapshot %s: %w", snapshotID, err)
	}
	if len(out.Snapshots) != 1 {
		return "", fmt.Errorf("%w: snapshot %s not found", ErrBadEvent, snapshotID)
	}
	snap := out.Snapshots[0]
	if got := aws.ToString(snap.VolumeId); got != volumeID {
		return "", fmt.Errorf("%w: snapshot %s is of volume %s, not of the current root volume %s", ErrBadEvent, snapshotID, got, volumeID)
	}
	if !IsSuiteSnapshotOf(snap, volumeID) {
		return "", fmt.Errorf("%w: snapshot %s is not one the suite took of %s: its description lacks the suite's marker naming it", ErrBadEvent, snapshotID, volumeID)
	}
	if snap.State != types.SnapshotStateCompleted {
		return "", fmt.Errorf("%w: snapshot %s is %s, not completed", ErrBadEvent, snapshotID, snap.State)
	}
	return snapshotID, nil
}

// taskSkew is how much earlier than its record EC2 may date a task: the
// function's clock and EC2's differ by little (both keep NTP time).
const taskSkew = time.Minute

// MatchTask finds the task EC2 made for a request whose answer was lost.
// EC2's ReplaceRootVolumeTask carries neither the client token nor the
// replaced volume (API reference, "ReplaceRootVolumeTask"), so the match is
// by what the suite gave the task at creation: on the record's instance,
// started no earlier than the record was written, tagged with the record's
// volume and as made by replace-root-volume. Exactly one must match.
func MatchTask(r Replacement, tasks []TaskFacts) (TaskFacts, bool) {
	var found []TaskFacts
	for _, t := range tasks {
		if t.InstanceID == r.InstanceID && t.SourceVolume == r.ReplacedVolumeID && t.CreatedBy == ReplaceCreatedBy &&
			!t.Started.Before(r.RequestedAt.Add(-taskSkew)) {
			found = append(found, t)
		}
	}
	if len(found) != 1 {
		return TaskFacts{}, false
	}
	return found[0], true
}

// parseTaskTime reads a replace-root-volume task's time as EC2 gives it
// (ISO 8601, UTC, perhaps with milliseconds).
func parseTaskTime(s *string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339, aws.ToString(s))
	return t.UTC(), err == nil
}
