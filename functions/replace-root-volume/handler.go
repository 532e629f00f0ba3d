package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

type handler struct {
	replacer *rootvolume.Replacer
	log      *slog.Logger
}

// Handle returns bad requests as errors too: the caller of a direct
// invocation must see why nothing was started.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (rootvolume.ReplaceResult, error) {
	req, err := rootvolume.DecodeReplaceRequest(raw)
	if err != nil {
		h.log.ErrorContext(ctx, "request rejected", "error", err.Error())
		return rootvolume.ReplaceResult{}, err
	}
	var requestID string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		requestID = lc.AwsRequestID
	}
	requestedBy := rootvolume.Requester(raw, requestID)
	res, err := h.replacer.Replace(ctx, req, requestedBy)
	if err != nil {
		h.log.ErrorContext(ctx, "replacement not started", "instanceId", req.InstanceID, "restoreTo", req.RestoreTo,
			"replacedVolumeId", res.ReplacedVolumeID, "snapshotId", res.SnapshotID, "recordId", res.RecordID,
			"requestedBy", requestedBy, "error", err.Error())
		return res, err
	}
	h.log.InfoContext(ctx, "replacement started", "instanceId", res.InstanceID, "taskId", res.TaskID,
		"restoreTo", res.RestoreTo, "snapshotId", res.SnapshotID, "replacedVolumeId", res.ReplacedVolumeID,
		"deleteReplacedVolume", res.DeleteReplacedVolume, "recordId", res.RecordID, "retried", res.Retried,
		"requestedBy", requestedBy)
	return res, nil
}
