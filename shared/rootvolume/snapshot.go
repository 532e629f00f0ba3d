package rootvolume

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// ErrNotAttached means the volume had no attachment within the wait: Lambda's
// asynchronous retry should try the event again later.
var ErrNotAttached = errors.New("volume not attached yet; retry later")

// Outcomes of a snapshot request.
const (
	SnapshotCreated  = "created"
	SnapshotExists   = "exists"
	SnapshotSkipped  = "skipped"
	SnapshotIgnored  = "ignored"
	SnapshotRejected = "rejected"
	// SnapshotCoverage answers a coverage run (the schedule's event):
	// Coverage says what it did.
	SnapshotCoverage = "coverage"
)

// Snapshotter snapshots new root volumes.
type Snapshotter struct {
	EC2        snapshotAPI
	Tag        Tag           // the tag that marks replacement snapshots
	AttachWait time.Duration // how long to wait for a new volume's attachment
	// PollMin and PollMax bound the backoff between attachment checks
	// (defaults 2s and 10s).
	PollMin, PollMax time.Duration
	// Store, when set, records every root volume confirmed (the facts
	// ADOPT_EXTERNAL_REPLACEMENTS rests on).
	Store *Store
	Now   func() time.Time
	Log   *slog.Logger
}

// SnapshotResult says what was decided, with the IDs it touched.
type SnapshotResult struct {
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason,omitempty"`
	VolumeID   string `json:"volumeId,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	Device     string `json:"device,omitempty"`
	SnapshotID string `json:"snapshotId,omitempty"`
	// Coverage is a coverage run's summary.
	Coverage *CoverageSummary `json:"coverage,omitempty"`
}

// Handle acts on one volume notification. It returns an error only when a
// retry can help (AWS unavailable, volume not attached yet).
func (s *Snapshotter) Handle(ctx context.Context, ev VolumeEvent) (SnapshotResult, error) {
	res := SnapshotResult{VolumeID: ev.VolumeID}
	if ev.Event != "createVolume" {
		res.Outcome, res.Reason = SnapshotIgnored, fmt.Sprintf("event %q is not createVolume", ev.Event)
		return res, nil
	}
	if ev.Result != "available" {
		res.Outcome, res.Reason = SnapshotIgnored, fmt.Sprintf("volume creation result is %q (cause %q)", ev.Result, ev.Cause)
		return res, nil
	}

	vol, err := s.attachedVolume(ctx, ev.VolumeID)
	if errors.Is(err, errVolumeGone) {
		res.Outcome, res.Reason = SnapshotSkipped, "volume no longer exists"
		return res, nil
	}
	if err != nil {
		return res, err
	}
	att := vol.Attachments[0]
	res.InstanceID, res.Device = aws.ToString(att.InstanceId), aws.ToString(att.Device)

	root, err := s.rootDevice(ctx, res.InstanceID)
	if err != nil {
		return res, err
	}
	if !sameDevice(res.Device, root) {
		res.Outcome = SnapshotSkipped
		res.Reason = fmt.Sprintf("attached at %s, but the instance's root device is %s: not a root volume", res.Device, root)
		return res, nil
	}

	if err := s.recordRoot(ctx, vol, res.InstanceID, res.Device); err != nil {
		return res, err
	}
	existing, err := s.existingSnapshot(ctx, ev.VolumeID, time.Time{})
	if err != nil {
		return res, err
	}
	if existing != "" {
		res.Outcome, res.SnapshotID = SnapshotExists, existing
		res.Reason = "a suite snapshot of this volume is already pending or completed"
		return res, nil
	}

	res.SnapshotID, err = s.createSnapshot(ctx, ev.VolumeID, res.InstanceID, res.Device)
	if err != nil {
		return res, err
	}
	res.Outcome = SnapshotCreated
	return res, nil
}

// createSnapshot snapshots a root volume with the suite's tags and, in its
// description, the marker and the volume ID: EC2 fixes a description at
// creation, so the cleanup can tell the suite's snapshots by it.
func (s *Snapshotter) createSnapshot(ctx context.Context, volumeID, instanceID, device string) (string, error) {
	out, err := s.EC2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
		VolumeId:    aws.String(volumeID),
		Description: aws.String(SnapshotDescription(volumeID, instanceID, device)),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSnapshot,
			Tags: []types.Tag{
				s.Tag.ec2(),
				{Key: aws.String(TagInstanceID), Value: aws.String(instanceID)},
				{Key: aws.String(TagSourceVolume), Value: aws.String(volumeID)},
				{Key: aws.String(TagDevice), Value: aws.String(device)},
				{Key: aws.String(TagCreatedBy), Value: aws.String("snapshot-on-volume-create")},
			},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("snapshot volume %s: %w", volumeID, err)
	}
	return aws.ToString(out.SnapshotId), nil
}

// SnapshotMarker starts the description of every snapshot the suite takes.
const SnapshotMarker = "lambda-suite:root-volume-snapshot"

// SnapshotDescription is the description the suite gives a snapshot of
// volumeID: the marker, the volume ID, then words for people.
func SnapshotDescription(volumeID, instanceID, device string) string {
	return fmt.Sprintf("%s %s: root volume of %s (%s), kept so the instance can be reset with EC2 root-volume replacement",
		SnapshotMarker, volumeID, instanceID, device)
}

// MarkedVolume returns the volume ID a suite snapshot's description names,
// and whether the description carries the marker at all.
func MarkedVolume(description string) (string, bool) {
	rest, ok := strings.CutPrefix(description, SnapshotMarker+" ")
	if !ok {
		return "", false
	}
	id, _, ok := strings.Cut(rest, ":")
	if !ok || !awsid.IsVolumeID(id) {
		return "", false
	}
	return id, true
}

// IsSuiteSnapshotOf reports whether the snapshot is one the suite took of
// volumeID, by the facts EC2 fixes at creation: its VolumeId is volumeID
// and its description carries the marker naming that volume. The cleanup,
// the restore and the redelivery check all apply this one rule.
func IsSuiteSnapshotOf(s types.Snapshot, volumeID string) bool {
	marked, ok := MarkedVolume(aws.ToString(s.Description))
	return ok && marked == volumeID && aws.ToString(s.VolumeId) == volumeID
}

var errVolumeGone = errors.New("volume gone")

// attachedVolume returns the volume once it has an attachment, waiting with
// the SDK's waiter (bounded backoff) up to AttachWait and never into the
// margin (deadline.Margin) kept before the invocation's deadline.
func (s *Snapshotter) attachedVolume(ctx context.Context, id string) (types.Volume, error) {
	in := &ec2.DescribeVolumesInput{VolumeIds: []string{id}}
	out, err := s.EC2.DescribeVolumes(ctx, in)
	if err == nil && len(out.Volumes) == 1 && len(out.Volumes[0].Attachments) > 0 {
		return out.Volumes[0], nil
	}
	if isNotFound(err) || (err == nil && len(out.Volumes) == 0) {
		return types.Volume{}, errVolumeGone
	}
	if err != nil {
		return types.Volume{}, fmt.Errorf("describe volume %s: %w", id, err)
	}

	// Wait no longer than the margin before the deadline allows, so the
	// snapshot and its record still fit after the attachment.
	wait := s.AttachWait
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		wait = min(wait, left-deadline.Margin(left))
	}
	if wait <= 0 {
		return types.Volume{}, fmt.Errorf("volume %s: %w", id, ErrNotAttached)
	}
	s.logger().InfoContext(ctx, "volume not attached yet, waiting", "volumeId", id, "wait", wait.String())
	waiter := ec2.NewVolumeInUseWaiter(s.EC2, func(o *ec2.VolumeInUseWaiterOptions) {
		o.MinDelay = cmp.Or(s.PollMin, 2*time.Second)
		o.MaxDelay = max(cmp.Or(s.PollMax, 10*time.Second), o.MinDelay)
	})
	out, err = waiter.WaitForOutput(ctx, in, wait)
	var apiErr smithy.APIError
	switch {
	case isNotFound(err):
		return types.Volume{}, errVolumeGone
	case errors.As(err, &apiErr), ctx.Err() != nil:
		return types.Volume{}, fmt.Errorf("wait for volume %s to attach: %w", id, cmp.Or(err, ctx.Err()))
	case err != nil:
		// The waiter gave up: out of time, or the volume left the
		// creating/available states. Either way a later retry decides.
		return types.Volume{}, fmt.Errorf("volume %s after %s (%v): %w", id, wait, err, ErrNotAttached)
	case len(out.Volumes) != 1 || len(out.Volumes[0].Attachments) == 0:
		return types.Volume{}, fmt.Errorf("volume %s: %w", id, ErrNotAttached)
	}
	return out.Volumes[0], nil
}

func (s *Snapshotter) rootDevice(ctx context.Context, instanceID string) (string, error) {
	out, err := s.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		return "", fmt.Errorf("describe instance %s: %w", instanceID, err)
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			return aws.ToString(in.RootDeviceName), nil
		}
	}
	return "", fmt.Errorf("instance %s not found", instanceID)
}

// existingSnapshot returns a pending or completed snapshot the suite made
// of the volume (tagged, and marked in its description) started at or after
// since, so a redelivered event creates no second one. A tagged snapshot
// without the marker is not the suite's, and does not count.
func (s *Snapshotter) existingSnapshot(ctx context.Context, volumeID string, since time.Time) (string, error) {
	p := ec2.NewDescribeSnapshotsPaginator(s.EC2, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"},
		Filters:  []types.Filter{filter("volume-id", volumeID), s.Tag.Filter(), filter("status", "pending", "completed")},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list snapshots of %s: %w", volumeID, err)
		}
		for _, snap := range page.Snapshots {
			if s.restorePoint(snap, volumeID) && !aws.ToTime(snap.StartTime).Before(since) {
				return aws.ToString(snap.SnapshotId), nil
			}
		}
	}
	return "", nil
}

// restorePoint reports whether snap is a restore point of volumeID: the
// suite's (tag, and the marker naming volumeID), pending or completed.
func (s *Snapshotter) restorePoint(snap types.Snapshot, volumeID string) bool {
	return IsSuiteSnapshotOf(snap, volumeID) && s.Tag.On(snap.Tags) &&
		(snap.State == types.SnapshotStatePending || snap.State == types.SnapshotStateCompleted)
}

// describeRoot returns the instance's root volume as EC2 describes it.
func (s *Snapshotter) describeRoot(ctx context.Context, instanceID, root string) (types.Volume, error) {
	vols, err := s.EC2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{root}})
	if err != nil {
		return types.Volume{}, fmt.Errorf("describe root volume %s: %w", root, err)
	}
	if len(vols.Volumes) != 1 {
		return types.Volume{}, fmt.Errorf("root volume %s of %s not found", root, instanceID)
	}
	return vols.Volumes[0], nil
}

// recordRoot writes that the volume is the instance's root volume.
func (s *Snapshotter) recordRoot(ctx context.Context, vol types.Volume, instanceID, device string) error {
	if s.Store == nil {
		return nil
	}
	return s.Store.PutRoot(ctx, RootObservation{
		InstanceID: instanceID, VolumeID: aws.ToString(vol.VolumeId), Device: device,
		VolumeCreated: aws.ToTime(vol.CreateTime).UTC(), ObservedAt: s.now().UTC(),
	})
}

// SnapshotNowWindow is how recent a suite snapshot of the root volume may
// be for a "Snapshot Root Volume Requested" event to make no new one: a
// redelivered or repeated request within it is answered with that snapshot.
const SnapshotNowWindow = 15 * time.Minute

// SnapshotNow snapshots the instance's current root volume, as the
// createVolume path does (same tags, same marker), unless a suite snapshot
// of it started within SnapshotNowWindow.
func (s *Snapshotter) SnapshotNow(ctx context.Context, instanceID string) (SnapshotResult, error) {
	res := SnapshotResult{InstanceID: instanceID}
	out, err := s.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if isNotFound(err) || (err == nil && (len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0)) {
		res.Outcome, res.Reason = SnapshotRejected, fmt.Sprintf("instance %s not found", instanceID)
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("describe instance %s: %w", instanceID, err)
	}
	inst := out.Reservations[0].Instances[0]
	root, err := RootVolumeOf(inst)
	if err != nil {
		// No EBS root volume is an answer, not a failure: no retry changes it.
		res.Outcome, res.Reason = SnapshotRejected, err.Error()
		return res, nil //nolint:nilerr // see above
	}
	res.VolumeID, res.Device = root, aws.ToString(inst.RootDeviceName)
	vol, err := s.describeRoot(ctx, instanceID, root)
	if err != nil {
		return res, err
	}
	if err := s.recordRoot(ctx, vol, instanceID, res.Device); err != nil {
		return res, err
	}
	existing, err := s.existingSnapshot(ctx, root, s.now().Add(-SnapshotNowWindow))
	if err != nil {
		return res, err
	}
	if existing != "" {
		res.Outcome, res.SnapshotID = SnapshotExists, existing
		res.Reason = fmt.Sprintf("a suite snapshot of the root volume started within %s", SnapshotNowWindow)
		return res, nil
	}
	if res.SnapshotID, err = s.createSnapshot(ctx, root, instanceID, res.Device); err != nil {
		return res, err
	}
	res.Outcome = SnapshotCreated
	return res, nil
}

func (s *Snapshotter) now() time.Time { return clock.Now(s.Now) }

func (s *Snapshotter) logger() *slog.Logger { return cmp.Or(s.Log, slog.Default()) }

// sameDevice compares device names as EC2 reports them ("/dev/xvda"), also
// when one side omits the /dev/ prefix.
func sameDevice(a, b string) bool {
	return a != "" && strings.TrimPrefix(a, "/dev/") == strings.TrimPrefix(b, "/dev/")
}

func isNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.HasSuffix(apiErr.ErrorCode(), ".NotFound")
}
