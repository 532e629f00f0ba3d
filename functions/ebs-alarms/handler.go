package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
)

// count records one reconcile pass: the alarms written, deleted, left as
// they were, the writes that failed, and a pass that resumed a run. A
// queued continuation is counted where it is queued.
func (h *handler) count(res diskalarm.Result, pass int) {
	h.metrics.Add("AlarmsCreated", res.Created)
	h.metrics.Add("AlarmsUpdated", res.Updated)
	h.metrics.Add("AlarmsDeleted", res.Deleted)
	h.metrics.Add("AlarmsUnchanged", res.Unchanged)
	h.metrics.Add("AlarmsKept", res.Kept)
	h.metrics.Add("AlarmWritesFailed", len(res.Failed))
	if pass > 1 {
		h.metrics.Add("ContinuationPasses", 1)
	}
}

type handler struct {
	rec      *diskalarm.Reconciler
	queue    *diskalarm.Queue   // nil when RESUME_QUEUE_URL is unset
	defaults diskalarm.Defaults // the configuration's selection and topic
	log      *slog.Logger
	metrics  *metrics.Recorder // nil records nothing
}

// Handle answers the four triggers and the operator's remove-all. It returns a diskalarm.Result, or for
// an SQS batch the records to retry.
//
// A payload that cannot be read is returned as an error: EventBridge's own
// events always read, and "aws." sources cannot be forged, so a bad payload
// comes from a person invoking the function, who must see why. Otherwise
// an error is returned only when a retry can help: nothing was written
// because a read failed, or the continuation could not be queued.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (any, error) {
	defer h.metrics.Flush()
	inv, err := diskalarm.DecodeInvocation(raw)
	if err != nil {
		h.log.ErrorContext(ctx, "invocation rejected", "error", err.Error())
		return nil, err
	}
	switch inv.Kind {
	case diskalarm.KindRemoveAll:
		res, err := h.rec.RemoveAll(ctx, inv.DryRun)
		if err != nil {
			h.log.ErrorContext(ctx, "remove-all failed before any delete", "dryRun", inv.DryRun, "error", err.Error())
			return nil, err
		}
		return res, nil
	case diskalarm.KindQueue:
		return h.resume(ctx, inv.Messages), nil
	}
	st, err := h.queue.StandingOf(ctx, inv)
	if err != nil {
		h.log.ErrorContext(ctx, "cannot tell whether a resumed run is under way", "error", err.Error())
		return nil, err
	}
	if st.Untrusted != nil {
		h.tampered(ctx, "chain lease ignored: tampering: the continuation queue's lease is not one the function sealed", "", st.Untrusted)
	}
	start := diskalarm.StartOf(inv, h.defaults, st)
	if !start.Run {
		h.say(ctx, start.Line)
		return start.Answer, nil
	}
	return h.run(ctx, start.Request)
}

// say logs the lines the decisions come with.
func (h *handler) say(ctx context.Context, lines ...diskalarm.Line) {
	for _, l := range lines {
		h.log.LogAttrs(ctx, l.Level, l.Msg, l.Attrs...)
	}
}

// resume runs the continuation in each record. A message the suite did not
// seal, or sealed too long ago, is dropped (a retry cannot fix it) and
// reported as tampering; a message whose seal KMS could not check, and a
// run that failed to read, are retried through the queue's redrive policy.
// Defaults.Resumed gives each its selection and topic.
func (h *handler) resume(ctx context.Context, msgs []events.SQSMessage) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	retry := func(id string) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	for _, msg := range msgs {
		_, req, err := h.queue.Open(ctx, msg.Body)
		switch {
		case diskalarm.Untrusted(err):
			h.tampered(ctx, "continuation dropped: tampering: the message is not one the function sealed, and is not acted on", msg.MessageId, err)
			continue
		case err != nil:
			// KMS did not answer: act on nothing, try again later.
			h.log.ErrorContext(ctx, "continuation kept for a retry: its seal could not be checked", "messageId", msg.MessageId, "error", err.Error())
			retry(msg.MessageId)
			continue
		}
		if _, err := h.run(ctx, h.defaults.Resumed(req)); err != nil && !errors.Is(err, diskalarm.ErrBadInput) {
			retry(msg.MessageId)
		}
	}
	return resp
}

// tampered reports a record on the continuation queue that the function
// did not seal (or sealed too long ago): one error line and the
// ContinuationsTampered metric, whose alarm tells the operational topic.
// Nothing the record says is acted on.
func (h *handler) tampered(ctx context.Context, msg, messageID string, err error) {
	h.metrics.Add("ContinuationsTampered", 1)
	h.log.ErrorContext(ctx, msg, "messageId", messageID, "error", err.Error())
}

// run makes one pass and does what diskalarm.NextStep decides: queue the
// rest, end the chain, or fail.
func (h *handler) run(ctx context.Context, req diskalarm.Request) (diskalarm.Result, error) {
	res, err := h.rec.Reconcile(ctx, req)
	if err != nil {
		line := diskalarm.FailedLine(req, err)
		h.metrics.AddReason("ReconcileRunsFailed", line.Msg, 1)
		h.say(ctx, line)
		return res, err
	}
	_, pass := req.Chain()
	h.count(res, pass)
	step := diskalarm.NextStep(req, res, h.queue != nil)
	switch step {
	case diskalarm.StepFail:
		err = res.NoProgress()
	case diskalarm.StepContinue:
		// The hand-over runs in the margin the reconcile kept free.
		fin, cancel := deadline.Finish(ctx)
		err = h.queue.Continue(fin, diskalarm.NextResume(req, res))
		cancel()
		if err == nil {
			res.Continued = true
			h.metrics.Add("ContinuationsQueued", 1)
		}
	}
	h.say(ctx, step.Lines(req, res, err)...)
	return res, err
}
