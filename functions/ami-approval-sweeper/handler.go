package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
)

type handler struct {
	decider *approval.Decider
	// steps, when set, also reminds the approvers of waiting workflow
	// steps that time out within lead (the workflow mode).
	steps *approval.StepDecider
	lead  time.Duration
	log   *slog.Logger
}

// Handle runs one sweep, then sends the workflow mode's reminders. The schedule's event carries nothing the sweep
// needs; any event starts one. It returns an error only when the stopped
// approvals could not be listed: the next schedule retries anyway.
func (h *handler) Handle(ctx context.Context, ev events.EventBridgeEvent) ([]approval.Swept, error) {
	swept, err := h.decider.Sweep(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "sweep failed", "eventId", ev.ID, "error", err.Error())
		return nil, err
	}
	h.log.InfoContext(ctx, "sweep done", "eventId", ev.ID, "finished", len(swept))
	if h.steps != nil {
		// A reminder that cannot go out now goes out on the next schedule;
		// it never fails the sweep.
		reminded, err := h.steps.Remind(ctx, h.lead)
		if err != nil {
			h.log.ErrorContext(ctx, "reminders not sent", "eventId", ev.ID, "error", err.Error())
		}
		for _, r := range reminded {
			h.log.InfoContext(ctx, "step reminder", "ref", r.Ref, "stepExecutionId", r.StepExecutionID, "stepTimesOutAt", r.TimesOutAt,
				"snsMessageId", r.MessageID, "error", r.Error)
		}
	}
	return swept, nil
}
