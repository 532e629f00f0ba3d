package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
)

type handler struct {
	decider *approval.Decider
	log     *slog.Logger
}

// Handle runs one sweep. The schedule's event carries nothing the sweep
// needs; any event starts one. It returns an error only when the stopped
// approvals could not be listed: the next schedule retries anyway.
func (h *handler) Handle(ctx context.Context, ev events.EventBridgeEvent) ([]approval.Swept, error) {
	swept, err := h.decider.Sweep(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "sweep failed", "eventId", ev.ID, "error", err.Error())
		return nil, err
	}
	h.log.InfoContext(ctx, "sweep done", "eventId", ev.ID, "finished", len(swept))
	return swept, nil
}
