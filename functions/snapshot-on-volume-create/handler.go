package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/schedule"
)

type handler struct {
	snapshotter *rootvolume.Snapshotter
	coverage    rootvolume.Coverage
	log         *slog.Logger
	metrics     *metrics.Recorder // nil records nothing
}

// count records the invocation's decision: a snapshot created, or none
// taken by outcome (exists, skipped, ignored, rejected, error).
func (h *handler) count(res rootvolume.SnapshotResult, err error) {
	switch {
	case err != nil:
		h.metrics.AddReason("SnapshotsNotTaken", "error", 1)
	case res.Coverage != nil:
		h.metrics.Add("SnapshotsCreated", len(res.Coverage.Snapshotted))
		h.metrics.Add("RootsWithoutRestorePoint", res.Coverage.RootsWithoutRestorePoint)
	case res.Outcome == rootvolume.SnapshotCreated:
		h.metrics.Add("SnapshotsCreated", 1)
	default:
		h.metrics.AddReason("SnapshotsNotTaken", res.Outcome, 1)
	}
}

// Handle decodes the event itself, so a malformed one is logged and
// rejected here (no retry can fix it) instead of failing in the runtime.
// It returns an error only when a retry can help. Two events come: EC2's
// "EBS Volume Notification" and the suite's "Snapshot Root Volume
// Requested" (on the stack's bus); and the coverage schedule's.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (res rootvolume.SnapshotResult, err error) {
	defer h.metrics.Flush()
	defer func() { h.count(res, err) }()
	switch rootvolume.DetailType(raw) {
	case rootvolume.SnapshotNowDetailType:
		return h.snapshotNow(ctx, raw)
	case schedule.DetailType:
		return h.cover(ctx, raw)
	}
	ev, err := rootvolume.DecodeVolumeEvent(raw)
	if err != nil {
		h.log.ErrorContext(ctx, "event rejected", "error", err.Error())
		return rootvolume.SnapshotResult{Outcome: rootvolume.SnapshotRejected, Reason: err.Error()}, nil
	}
	res, err = h.snapshotter.Handle(ctx, ev)
	if err != nil {
		h.log.ErrorContext(ctx, "snapshot not taken; asking Lambda to retry",
			"volumeId", ev.VolumeID, "instanceId", res.InstanceID, "error", err.Error())
		return res, err
	}
	h.log.InfoContext(ctx, "decision", "outcome", res.Outcome, "reason", res.Reason,
		"volumeId", res.VolumeID, "instanceId", res.InstanceID, "device", res.Device, "snapshotId", res.SnapshotID)
	return res, nil
}

// cover runs the coverage safety net on the schedule's event.
func (h *handler) cover(ctx context.Context, raw json.RawMessage) (rootvolume.SnapshotResult, error) {
	if !isSchedule(raw) {
		h.log.ErrorContext(ctx, "event rejected: a Scheduled Event, but not the coverage schedule's")
		return rootvolume.SnapshotResult{Outcome: rootvolume.SnapshotRejected, Reason: "a Scheduled Event not from aws.events"}, nil
	}
	sum, err := h.snapshotter.Cover(ctx, h.coverage)
	res := rootvolume.SnapshotResult{Outcome: rootvolume.SnapshotCoverage, Coverage: &sum}
	if err != nil {
		// A failed listing snapshots nothing; the next run tries again.
		h.log.ErrorContext(ctx, "coverage run aborted before any snapshot", "error", err.Error())
		return res, nil
	}
	for _, u := range sum.Uncovered {
		h.log.WarnContext(ctx, "root without a restore point", "instanceId", u.InstanceID, "volumeId", u.VolumeID, "told", u.Told, "error", u.Error)
	}
	h.log.InfoContext(ctx, "coverage summary", "scope", sum.Scope, "instances", sum.Instances, "alreadyCovered", sum.AlreadyCovered,
		"snapshotted", sum.Snapshotted, "rootsWithoutRestorePoint", sum.RootsWithoutRestorePoint, "notReached", len(sum.NotReached),
		"stoppedEarly", sum.StoppedEarly)
	return res, nil
}

// isSchedule reports whether raw is EventBridge's scheduled event; no
// retry changes the answer.
func isSchedule(raw json.RawMessage) bool {
	var ev events.CloudWatchEvent
	return json.Unmarshal(raw, &ev) == nil && schedule.Check(ev) == nil
}

func (h *handler) snapshotNow(ctx context.Context, raw json.RawMessage) (rootvolume.SnapshotResult, error) {
	instanceID, err := rootvolume.DecodeSnapshotNow(raw)
	if err != nil {
		h.log.ErrorContext(ctx, "event rejected", "error", err.Error())
		return rootvolume.SnapshotResult{Outcome: rootvolume.SnapshotRejected, Reason: err.Error()}, nil
	}
	res, err := h.snapshotter.SnapshotNow(ctx, instanceID)
	if err != nil {
		h.log.ErrorContext(ctx, "snapshot not taken; asking Lambda to retry", "instanceId", instanceID,
			"volumeId", res.VolumeID, "error", err.Error())
		return res, err
	}
	h.log.InfoContext(ctx, "decision", "request", "snapshot now", "outcome", res.Outcome, "reason", res.Reason,
		"volumeId", res.VolumeID, "instanceId", res.InstanceID, "device", res.Device, "snapshotId", res.SnapshotID)
	return res, nil
}
