package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/schedule"
)

type handler struct {
	decider *approval.Decider
	log     *slog.Logger
	metrics *metrics.Recorder // nil records nothing
}

// Handle runs one sweep of both flows (Decider.Sweep): it finishes the
// stopped approvals, then sends unconfirmed step decisions again and sends
// the reminders. The schedule's event carries
// nothing the sweep needs; an event that is neither the schedule's nor {}
// (run now) is skipped and logged. It returns an error when the stopped
// approvals or unconfirmed decisions could not be listed, or when one of
// them could not be finished (an AWS call failed): the record stays as it
// was and the next schedule tries again, but the failed invocation also
// lands in the on-failure queue with the reason, where the operational
// alarm sees it. Reminders are sent either way.
func (h *handler) Handle(ctx context.Context, ev events.EventBridgeEvent) ([]approval.Swept, error) {
	defer h.metrics.Flush()
	if err := schedule.Check(ev); err != nil {
		h.log.WarnContext(ctx, "event skipped: the sweep runs on its schedule or on {}", "eventId", ev.ID, "error", err.Error())
		h.metrics.AddReason("SweepsSkipped", "not a schedule", 1)
		return nil, nil
	}
	h.checkApprovers(ctx)
	res, err := h.decider.Sweep(ctx)
	swept := res.Stopped
	for _, s := range swept {
		switch {
		case s.Tampered != "":
			// Reported to the ops topic by the sweep; not an error of the
			// invocation, which would fail every five minutes on it.
			h.metrics.AddReason("ApprovalRecordsTampered", "sweep", 1)
		case s.Error != "":
			h.metrics.AddReason("ApprovalsSwept", "error", 1)
		case s.Outcome == "":
			h.metrics.AddReason("ApprovalsSwept", "taken by another", 1)
		default:
			h.metrics.AddReason("ApprovalsSwept", s.Outcome, 1)
		}
	}
	if err != nil {
		h.metrics.AddReason("SweepsFailed", "listing failed", 1)
		h.log.ErrorContext(ctx, "sweep failed", "eventId", ev.ID, "error", err.Error())
		return nil, err
	}
	finished, tampered := 0, 0
	for _, s := range swept {
		switch {
		case s.Tampered != "":
			tampered++
		case s.Error == "":
			finished++
		}
	}
	h.log.InfoContext(ctx, "sweep done", "eventId", ev.ID, "finished", finished, "refusedAsTampered", tampered)
	h.countSteps(ctx, ev.ID, res)
	failed := res.Unfinished()
	if len(failed) > 0 {
		err := fmt.Errorf("%d stopped approvals or unconfirmed step decisions not finished, to be retried by the next sweep: %w",
			len(failed), errors.Join(failed...))
		h.log.ErrorContext(ctx, "sweep incomplete", "eventId", ev.ID, "error", err.Error())
		return swept, err
	}
	return swept, nil
}

// countSteps counts and logs the workflow flow's part of the sweep (the
// step decisions sent again, the reminders); what it could not finish is
// in SweepResult.Unfinished. A reminder that cannot go out now goes out on
// the next schedule; it never fails the sweep.
func (h *handler) countSteps(ctx context.Context, eventID string, sw approval.SweepResult) {
	if err := sw.StepsErr; err != nil {
		h.metrics.AddReason("StepDecisionsResent", "listing failed", 1)
		h.log.ErrorContext(ctx, "workflow steps not listed: no decision sent again, no reminder", "eventId", eventID, "error", err.Error())
		return
	}
	for _, r := range sw.Resent {
		switch {
		case r.Tampered != "":
			h.metrics.AddReason("ApprovalRecordsTampered", "sweep", 1)
		case r.Error != "":
			h.metrics.AddReason("StepDecisionsResent", "error", 1)
		default:
			h.metrics.AddReason("StepDecisionsResent", r.Outcome, 1)
			h.log.InfoContext(ctx, "step decision sent by the sweeper", "ref", r.Ref, "stepExecutionId", r.StepExecutionID,
				"decision", r.Decision, "outcome", r.Outcome)
		}
	}
	for _, r := range sw.Reminded {
		h.log.InfoContext(ctx, "step reminder", "ref", r.Ref, "stepExecutionId", r.StepExecutionID, "stepTimesOutAt", r.TimesOutAt,
			"snsMessageId", r.MessageID, "error", r.Error)
	}
}

// checkApprovers counts a sweep that finds no confirmed subscriber on the
// approver topic (a scanner may have followed an email's unsubscribe
// link); the decider tells the ops topic. A failure to look is logged: it
// does not stop the sweep.
func (h *handler) checkApprovers(ctx context.Context) {
	a, err := h.decider.CheckApprovers(ctx)
	switch {
	case err != nil:
		h.metrics.AddReason("ApproverTopicChecks", "error", 1)
		h.log.ErrorContext(ctx, "approver topic not checked", "error", err.Error())
	case a.Confirmed == 0:
		h.metrics.Add("ApproverTopicUnconfirmed", 1)
		h.log.ErrorContext(ctx, "the approver topic has no confirmed subscriber", "pending", a.Pending, "opsTold", a.Told)
	}
}
