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
)

// deadlineMargin is kept free before the invocation's deadline so the
// function can still answer after giving up on a wait.
const deadlineMargin = 5 * time.Second

// Snapshotter snapshots new root volumes.
type Snapshotter struct {
	EC2        snapshotAPI
	Tag        Tag           // the tag that marks replacement snapshots
	AttachWait time.Duration // how long to wait for a new volume's attachment
	// PollMin and PollMax bound the backoff between attachment checks
	// (defaults 2s and 10s).
	PollMin, PollMax time.Duration
	Log              *slog.Logger
}

// SnapshotResult says what was decided, with the IDs it touched.
type SnapshotResult struct {
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason,omitempty"`
	VolumeID   string `json:"volumeId,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	Device     string `json:"device,omitempty"`
	SnapshotID string `json:"snapshotId,omitempty"`
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

	existing, err := s.existingSnapshot(ctx, ev.VolumeID)
	if err != nil {
		return res, err
	}
	if existing != "" {
		res.Outcome, res.SnapshotID = SnapshotExists, existing
		res.Reason = "a tagged snapshot of this volume is already pending or completed"
		return res, nil
	}

	out, err := s.EC2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
		VolumeId: aws.String(ev.VolumeID),
		Description: aws.String(fmt.Sprintf("Root volume %s of %s (%s), kept so the instance can be reset with EC2 root-volume replacement",
			ev.VolumeID, res.InstanceID, res.Device)),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeSnapshot,
			Tags: []types.Tag{
				s.Tag.ec2(),
				{Key: aws.String(TagInstanceID), Value: aws.String(res.InstanceID)},
				{Key: aws.String(TagSourceVolume), Value: aws.String(ev.VolumeID)},
				{Key: aws.String(TagDevice), Value: aws.String(res.Device)},
				{Key: aws.String(TagCreatedBy), Value: aws.String("snapshot-on-volume-create")},
			},
		}},
	})
	if err != nil {
		return res, fmt.Errorf("snapshot volume %s: %w", ev.VolumeID, err)
	}
	res.Outcome, res.SnapshotID = SnapshotCreated, aws.ToString(out.SnapshotId)
	return res, nil
}

var errVolumeGone = errors.New("volume gone")

// attachedVolume returns the volume once it has an attachment, waiting with
// the SDK's waiter (bounded backoff) up to AttachWait and never past the
// invocation's deadline.
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

	wait := s.AttachWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(dl)-deadlineMargin)
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

// existingSnapshot returns a pending or completed tagged snapshot of the
// volume, so a redelivered event creates no second one.
func (s *Snapshotter) existingSnapshot(ctx context.Context, volumeID string) (string, error) {
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
			if aws.ToString(snap.VolumeId) == volumeID && s.Tag.On(snap.Tags) &&
				(snap.State == types.SnapshotStatePending || snap.State == types.SnapshotStateCompleted) {
				return aws.ToString(snap.SnapshotId), nil
			}
		}
	}
	return "", nil
}

func (s *Snapshotter) logger() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// sameDevice compares device names as EC2 reports them ("/dev/xvda"), also
// when one side omits the /dev/ prefix.
func sameDevice(a, b string) bool {
	return a != "" && strings.TrimPrefix(a, "/dev/") == strings.TrimPrefix(b, "/dev/")
}

func isNotFound(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && strings.HasSuffix(apiErr.ErrorCode(), ".NotFound")
}
