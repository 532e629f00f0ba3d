package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

type handler struct {
	retrier *healthgate.Retrier
	log     *slog.Logger
	notify  *notify.Notifier  // nil: no notifications
	metrics *metrics.Recorder // nil records nothing
}

// Handle takes a FAILED stage event, a re-check message or an AWS Health
// event (the all-clear that brings re-checks forward). It returns an
// error only when a retry can help (an AWS call failed); anything else is
// logged with its reason and returns normally.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (res healthgate.RetryResult, err error) {
	defer h.metrics.Flush()
	defer func() {
		// Each decision by outcome (scheduled, retried, ignored, …).
		outcome := res.Outcome
		if err != nil || outcome == "" {
			outcome = "error"
		}
		h.metrics.AddReason("StageRetryDecisions", outcome, 1)
	}()
	in, err := healthgate.DecodeRetryInput(raw)
	if err != nil {
		h.log.WarnContext(ctx, "event ignored", "error", err.Error())
		return healthgate.RetryResult{Outcome: healthgate.RetryIgnored, Reason: err.Error()}, nil
	}
	// The re-check schedules invoke this function: its own ARN, which its
	// configuration cannot hold (a template cannot refer to the function
	// from inside it).
	lc, _ := lambdacontext.FromContext(ctx)
	var target string
	if lc != nil {
		target = lc.InvokedFunctionArn
	}

	switch {
	case in.Failure != nil:
		res, err = h.retrier.HandleFailure(ctx, *in.Failure, target)
	case in.Recheck != nil:
		res, err = h.retrier.HandleRecheck(ctx, *in.Recheck, target)
	default:
		// An AWS Health event: a hint to re-check the stages waiting on
		// it, each logged and told on its own.
		res, err = h.retrier.HandleHealthChange(ctx, *in.Health, target)
		for _, one := range res.Stages {
			h.log.InfoContext(ctx, "decision", "outcome", one.Outcome, "reason", one.Reason, "pipeline", one.Pipeline, "stage", one.Stage,
				"executionId", one.ExecutionID, "check", one.Check, "trigger", "AWS Health all-clear")
			h.notifyResult(ctx, one)
		}
	}
	attrs := []any{"outcome", res.Outcome, "reason", res.Reason, "pipeline", res.Pipeline, "stage", res.Stage,
		"executionId", res.ExecutionID, "check", res.Check, "schedule", res.Schedule, "runAt", res.RunAt}
	if err != nil {
		h.log.ErrorContext(ctx, "stage retry interrupted; asking Lambda to retry", append(attrs, "error", err.Error())...)
		return res, err
	}
	h.log.InfoContext(ctx, "decision", attrs...)
	if in.Health == nil {
		h.notifyResult(ctx, res)
	}
	return res, nil
}
