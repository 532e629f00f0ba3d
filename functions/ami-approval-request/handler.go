package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
)

type handler struct {
	requests *approval.Requester
	log      *slog.Logger
}

// Handle turns each Image Builder message into an approval request and an
// email, or a failure notice. A message that is not an Image Builder image
// is logged and dropped: no retry can fix it. It returns an error only when
// a retry can help (AWS unavailable, the build being handled elsewhere).
func (h *handler) Handle(ctx context.Context, ev events.SNSEvent) ([]approval.RequestResult, error) {
	results := make([]approval.RequestResult, 0, len(ev.Records))
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
