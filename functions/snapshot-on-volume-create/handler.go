package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

type handler struct {
	snapshotter *rootvolume.Snapshotter
	log         *slog.Logger
}

// Handle decodes the event itself, so a malformed one is logged and
// rejected here (no retry can fix it) instead of failing in the runtime.
// It returns an error only when a retry can help.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (rootvolume.SnapshotResult, error) {
	ev, err := rootvolume.DecodeVolumeEvent(raw)
	if err != nil {
		h.log.ErrorContext(ctx, "event rejected", "error", err.Error())
		return rootvolume.SnapshotResult{Outcome: rootvolume.SnapshotRejected, Reason: err.Error()}, nil
	}
	res, err := h.snapshotter.Handle(ctx, ev)
	if err != nil {
		h.log.ErrorContext(ctx, "snapshot not taken; asking Lambda to retry",
			"volumeId", ev.VolumeID, "instanceId", res.InstanceID, "error", err.Error())
		return res, err
	}
	h.log.InfoContext(ctx, "decision", "outcome", res.Outcome, "reason", res.Reason,
		"volumeId", res.VolumeID, "instanceId", res.InstanceID, "device", res.Device, "snapshotId", res.SnapshotID)
	return res, nil
}
