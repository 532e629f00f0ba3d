package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

type handler struct {
	replacer *rootvolume.Replacer
	log      *slog.Logger
	metrics  *metrics.Recorder // nil records nothing
}

// count records the request's outcome: a task started, one found again
// (a retried request), or none started and why.
func (h *handler) count(res rootvolume.ReplaceResult, err error) {
	switch {
	case errors.Is(err, rootvolume.ErrUntrustedRecord):
		// A record or invocation record whose MAC does not verify: forged
		// or changed by someone with write on the table.
		h.metrics.AddReason("ReplacementsNotStarted", "untrusted record", 1)
	case errors.Is(err, rootvolume.ErrNotOptedIn):
		h.metrics.AddReason("ReplacementsNotStarted", "not opted in", 1)
	case errors.Is(err, rootvolume.ErrBadEvent):
		h.metrics.AddReason("ReplacementsNotStarted", "bad request", 1)
	case err != nil:
		h.metrics.AddReason("ReplacementsNotStarted", "error", 1)
	case res.Retried:
		h.metrics.Add("ReplacementsFoundAgain", 1)
	default:
		h.metrics.Add("ReplacementsStarted", 1)
	}
}

// Handle returns bad requests as errors too: the caller of a direct
// invocation must see why nothing was started.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (res rootvolume.ReplaceResult, err error) {
	defer h.metrics.Flush()
	defer func() { h.count(res, err) }()
	req, err := rootvolume.DecodeReplaceRequest(raw)
	if err != nil {
		h.log.ErrorContext(ctx, "request rejected", "error", err.Error())
		return rootvolume.ReplaceResult{}, err
	}
	var requestID string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	inv := rootvolume.InvocationOf(raw, requestID)
	res, err = h.replacer.Replace(ctx, req, inv)
	if err != nil {
		h.log.ErrorContext(ctx, "replacement not started", "instanceId", req.InstanceID, "restoreTo", req.RestoreTo,
			"replacedVolumeId", res.ReplacedVolumeID, "snapshotId", res.SnapshotID, "recordId", res.RecordID,
			"requestedBy", inv.RequestedBy, "error", err.Error())
		return res, err
	}
	h.log.InfoContext(ctx, "replacement started", "instanceId", res.InstanceID, "taskId", res.TaskID,
		"restoreTo", res.RestoreTo, "snapshotId", res.SnapshotID, "replacedVolumeId", res.ReplacedVolumeID,
		"deleteReplacedVolume", res.DeleteReplacedVolume, "recordId", res.RecordID, "retried", res.Retried,
		"requestedBy", inv.RequestedBy)
	return res, nil
}
