package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
)

type handler struct {
	requests *approval.Requester
	log      *slog.Logger
	metrics  *metrics.Recorder // nil records nothing
}

// Invoke takes both triggers: Image Builder's SNS messages (Handle) and
// the EventBridge event "EC2 Image Builder Workflow Step Waiting"
// (HandleStep). An event of neither shape is logged and dropped.
func (h *handler) Invoke(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Records    []json.RawMessage `json:"Records"`
		DetailType string            `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		h.log.ErrorContext(ctx, "event rejected", "error", err.Error())
		return nil, nil
	}
	if probe.DetailType != "" {
		var ev events.EventBridgeEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			h.log.ErrorContext(ctx, "event rejected", "error", err.Error())
			return nil, nil
		}
		return h.HandleStep(ctx, ev)
	}
	var ev events.SNSEvent
	if err := json.Unmarshal(raw, &ev); err != nil || len(probe.Records) == 0 {
		h.log.ErrorContext(ctx, "event rejected", "error", fmt.Sprint("neither an SNS event nor an EventBridge event: ", err))
		return nil, nil
	}
	return h.Handle(ctx, ev)
}

// count records each message's outcome: requested, duplicate, refused,
// not-an-image, … or error for the one that failed the invocation.
func (h *handler) count(results []approval.RequestResult, err error) {
	for i, r := range results {
		outcome := r.Outcome
		if (err != nil && i == len(results)-1) || outcome == "" {
			outcome = "error"
		}
		h.metrics.AddReason("ApprovalRequests", outcome, 1)
	}
}

// Handle turns each Image Builder message into an approval request and an
// email, or a failure notice. A message that is not an Image Builder image
// is logged and dropped: no retry can fix it. It returns an error only when
// a retry can help (AWS unavailable, the build being handled elsewhere).
func (h *handler) Handle(ctx context.Context, ev events.SNSEvent) (results []approval.RequestResult, err error) {
	defer h.metrics.Flush()
	defer func() { h.count(results, err) }()
	results = make([]approval.RequestResult, 0, len(ev.Records))
	for _, rec := range ev.Records {
		im, err := approval.ParseImage([]byte(rec.SNS.Message))
		if err != nil {
			h.log.ErrorContext(ctx, "message rejected", "messageId", rec.SNS.MessageID, "topicArn", rec.SNS.TopicArn, "error", err.Error())
			results = append(results, approval.RequestResult{Outcome: approval.NotAnImage, Reason: err.Error()})
			continue
		}
		res, err := h.requests.Handle(ctx, im)
		if err != nil {
			h.log.ErrorContext(ctx, "request not made; asking Lambda to retry", "imageArn", im.ARN, "status", im.Status, "error", err.Error())
			return append(results, res), err
		}
		h.log.InfoContext(ctx, "decision", "outcome", res.Outcome, "imageArn", res.ImageARN, "status", res.Status,
			"ref", res.Ref, "amis", res.AMIs, "linkExpiresAt", res.Expires, "replaced", res.Replaced, "snsMessageId", res.MessageID, "reason", res.Reason)
		results = append(results, res)
	}
	return results, nil
}

// HandleStep turns a waiting-step event into an approval request bound to
// the step, and an email. An event that is not Image Builder's waiting-step
// event is logged and dropped; an error is returned only when a retry can
// help (EventBridge's asynchronous invocation retries it).
func (h *handler) HandleStep(ctx context.Context, ev events.EventBridgeEvent) (approval.RequestResult, error) {
	sw, err := approval.ParseStepWaiting(ev)
	if err != nil {
		h.log.ErrorContext(ctx, "event rejected", "eventId", ev.ID, "detailType", ev.DetailType, "error", err.Error())
		return approval.RequestResult{Outcome: approval.NotAnImage, Reason: err.Error()}, nil
	}
	res, err := h.requests.HandleStep(ctx, sw)
	if err != nil {
		h.log.ErrorContext(ctx, "request not made; asking Lambda to retry", "imageArn", sw.ImageARN, "stepExecutionId", sw.StepExecutionID, "error", err.Error())
		return res, err
	}
	h.log.InfoContext(ctx, "decision", "outcome", res.Outcome, "imageArn", res.ImageARN, "stepExecutionId", sw.StepExecutionID,
		"workflowStepName", sw.StepName, "ref", res.Ref, "amis", res.AMIs, "linkExpiresAt", res.Expires, "replaced", res.Replaced,
		"snsMessageId", res.MessageID, "reason", res.Reason)
	return res, nil
}
