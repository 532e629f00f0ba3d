package main

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
)

// count records a run's counts (diskalarm.Outcome.Counts).
func (h *handler) count(out diskalarm.Outcome) {
	for _, c := range out.Counts() {
		h.metrics.AddReason(c.Name, c.Reason, c.N)
	}
}

type handler struct {
	rec      *diskalarm.Reconciler
	queue    *diskalarm.Queue   // nil when RESUME_QUEUE_URL is unset
	defaults diskalarm.Defaults // the configuration's selection and topic
	log      *slog.Logger
	metrics  *metrics.Recorder // nil records nothing
}

// Handle answers the four triggers and the operator's remove-all with a
// diskalarm.Result, or for an SQS batch the records to retry. It returns
// an error only to a person, who must see why (a payload that cannot be
// read: EventBridge's own events always read; a direct run that could
// make no progress), or where a retry can help (a read failed before any
// write, or the continuation was not queued).
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
	start := diskalarm.StartOf(inv, h.defaults, st)
	if !h.begin(ctx, start) {
		return start.Answer, nil
	}
	return h.run(ctx, start.Request)
}

// begin logs the line start comes with, counts a tampering, and reports
// whether start runs.
func (h *handler) begin(ctx context.Context, start diskalarm.Start) bool {
	if start.Tampered {
		h.metrics.Add("ContinuationsTampered", 1)
	}
	h.say(ctx, start.Line)
	return start.Run
}

// say logs the lines the decisions come with; a zero Line says nothing.
func (h *handler) say(ctx context.Context, lines ...diskalarm.Line) {
	for _, l := range lines {
		if l.Msg != "" {
			h.log.LogAttrs(ctx, l.Level, l.Msg, l.Attrs...)
		}
	}
}

// resume runs the continuation in each record, as Defaults.ResumeOf
// decides; the queue's redrive policy retries the records kept for a
// retry and the runs that a retry can help.
func (h *handler) resume(ctx context.Context, msgs []events.SQSMessage) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for _, msg := range msgs {
		_, req, err := h.queue.Open(ctx, msg.Body)
		start := h.defaults.ResumeOf(msg.MessageId, req, err)
		if h.begin(ctx, start) {
			_, err := h.run(ctx, start.Request)
			start.Retry = diskalarm.Retryable(err)
		}
		if start.Retry {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	return resp
}

// run makes one pass and does what diskalarm.NextStep decides
// (Reconciler.Run): queue the rest, end the chain, or fail.
func (h *handler) run(ctx context.Context, req diskalarm.Request) (diskalarm.Result, error) {
	out := h.rec.Run(ctx, req, h.queue)
	h.count(out)
	h.say(ctx, out.Lines...)
	return out.Result, out.Err
}
