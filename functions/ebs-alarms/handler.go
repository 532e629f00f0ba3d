package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"golang.org/x/time/rate"
)

type handler struct {
	rec      *diskalarm.Reconciler
	queue    *diskalarm.Queue // nil when RESUME_QUEUE_URL is unset
	selector diskalarm.Selector
	topicARN string
	log      *slog.Logger
	metrics  *metrics.Recorder // nil records nothing
}

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

// newHandler wires the clients, once per cold start.
func newHandler(cfg Config, awsCfg aws.Config, log *slog.Logger) *handler {
	h := &handler{
		rec: &diskalarm.Reconciler{
			EC2:        ec2.NewFromConfig(awsCfg),
			CloudWatch: cloudwatch.NewFromConfig(awsCfg),
			Namespace:  cfg.Namespace,
			Alarms:     cfg.Alarms,
			RecentOnly: cfg.RecentOnly,
			Limiter:    rate.NewLimiter(rate.Limit(cfg.WriteRate), 1),
			Log:        log,
		},
		selector: cfg.Selector,
		topicARN: cfg.TopicARN,
		log:      log,
	}
	if cfg.ResumeQueueURL != "" {
		h.queue = &diskalarm.Queue{SQS: sqs.NewFromConfig(awsCfg), URL: cfg.ResumeQueueURL,
			Proof: &proof.Sealer{KMS: kms.NewFromConfig(awsCfg), KeyID: cfg.ProofKeyID}}
	}
	return h
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
	case diskalarm.KindDirect:
		topic := inv.TopicARN
		if topic == "" {
			topic = h.topicARN
		}
		req := diskalarm.Request{Trigger: diskalarm.TriggerDirect, Selector: diskalarm.Selector{NamePattern: inv.NamePattern}, TopicARN: topic}
		return h.run(ctx, req, diskalarm.TriggerDirect, 1)

	case diskalarm.KindStateChange:
		if inv.State != diskalarm.TriggerRunning && inv.State != diskalarm.TriggerTerminated {
			h.log.InfoContext(ctx, "state change ignored", "instanceId", inv.InstanceID, "state", inv.State)
			return diskalarm.Result{Trigger: inv.State, Scope: "instance " + inv.InstanceID, Note: "only running and terminated change alarms"}, nil
		}
		// One request for both: a running instance that is selected gets
		// its alarms; a terminated one is gone, so its alarms go.
		req := diskalarm.Request{Trigger: inv.State, Selector: h.selector, InstanceID: inv.InstanceID, TopicARN: h.topicARN}
		return h.run(ctx, req, inv.State, 1)

	case diskalarm.KindSchedule:
		if h.queue != nil {
			st, err := h.queue.Busy(ctx)
			if err != nil {
				h.log.ErrorContext(ctx, "cannot tell whether a resumed run is under way", "error", err.Error())
				return nil, err
			}
			if st.Untrusted != nil {
				h.tampered(ctx, "chain lease ignored: tampering: the continuation queue's lease is not one the function sealed", "", st.Untrusted)
			}
			if st.Aside {
				h.log.InfoContext(ctx, "scheduled run skipped: a resumed run is under way", "reason", st.Reason)
				return diskalarm.Result{Trigger: diskalarm.TriggerSchedule, Scope: "fleet", Note: "skipped: a resumed run is under way and covers the fleet"}, nil
			}
		}
		req := diskalarm.Request{Trigger: diskalarm.TriggerSchedule, Selector: h.selector, TopicARN: h.topicARN}
		return h.run(ctx, req, diskalarm.TriggerSchedule, 1)

	case diskalarm.KindRemoveAll:
		res, err := h.rec.RemoveAll(ctx, inv.DryRun)
		if err != nil {
			h.log.ErrorContext(ctx, "remove-all failed before any delete", "dryRun", inv.DryRun, "error", err.Error())
			return nil, err
		}
		return res, nil

	default: // diskalarm.KindQueue
		return h.resume(ctx, inv.Messages), nil
	}
}

// resume runs the continuation in each record. A message the suite did not
// seal, or sealed too long ago, is dropped (a retry cannot fix it) and
// reported as tampering; a message whose seal KMS could not check, and a
// run that failed to read, are retried through the queue's redrive policy.
//
// The topic and the selection of a chain the schedule started come from
// the configuration, as the schedule's own run takes them; only a chain an
// operator started carries the operator's, under the message's seal.
func (h *handler) resume(ctx context.Context, msgs []events.SQSMessage) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	retry := func(id string) {
		resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: id})
	}
	for _, msg := range msgs {
		m, req, err := h.open(ctx, msg.Body)
		switch {
		case err == nil:
		case proof.Untrusted(err), errors.Is(err, diskalarm.ErrStale), errors.Is(err, diskalarm.ErrBadInput):
			h.tampered(ctx, "continuation dropped: tampering: the message is not one the function sealed, and is not acted on", msg.MessageId, err)
			continue
		default:
			// KMS did not answer: act on nothing, try again later.
			h.log.ErrorContext(ctx, "continuation kept for a retry: its seal could not be checked", "messageId", msg.MessageId, "error", err.Error())
			retry(msg.MessageId)
			continue
		}
		if m.Trigger == diskalarm.TriggerSchedule {
			req.Selector, req.TopicARN = h.selector, h.topicARN
		}
		if _, err := h.run(ctx, req, m.Trigger, m.Pass); err != nil && !errors.Is(err, diskalarm.ErrBadInput) {
			retry(msg.MessageId)
		}
	}
	return resp
}

// open is Queue.Open; without a queue (no RESUME_QUEUE_URL) there is no
// key to check a seal with, so a message that reads is taken as unsealed.
func (h *handler) open(ctx context.Context, body string) (diskalarm.Resume, diskalarm.Request, error) {
	if h.queue != nil {
		return h.queue.Open(ctx, body)
	}
	m, _, err := diskalarm.DecodeResume(body)
	if err == nil {
		err = fmt.Errorf("no RESUME_QUEUE_URL, so no key to check the message with: %w", proof.ErrUnsealed)
	}
	return m, diskalarm.Request{}, err
}

// tampered reports a record on the continuation queue that the function
// did not seal (or sealed too long ago): one error line and the
// ContinuationsTampered metric, whose alarm tells the operational topic.
// Nothing the record says is acted on.
func (h *handler) tampered(ctx context.Context, msg, messageID string, err error) {
	h.metrics.Add("ContinuationsTampered", 1)
	h.log.ErrorContext(ctx, msg, "messageId", messageID, "error", err.Error())
}

// run makes one pass and, if the deadline stopped it, queues the rest.
func (h *handler) run(ctx context.Context, req diskalarm.Request, trigger string, pass int) (diskalarm.Result, error) {
	var given time.Duration
	if dl, ok := ctx.Deadline(); ok {
		given = time.Until(dl)
	}
	res, err := h.rec.Reconcile(ctx, req)
	if err != nil {
		msg := "reconcile failed before any write"
		if errors.Is(err, diskalarm.ErrBadInput) {
			msg = "request rejected"
		}
		h.metrics.AddReason("ReconcileRunsFailed", msg, 1)
		h.log.ErrorContext(ctx, msg, "trigger", req.Trigger, "error", err.Error())
		return res, err
	}
	h.count(res, pass)
	if res.Incomplete {
		switch {
		case !res.Progressed(req.Cursor) && trigger == diskalarm.TriggerDirect && pass == 1:
			// A person is waiting for the answer: say why nothing was done.
			err := noProgress(res, given, h.rec.DeadlineMargin)
			h.log.ErrorContext(ctx, "no progress before the deadline", "trigger", req.Trigger, "left", res.Left, "error", err.Error())
			return res, err
		case !res.Progressed(req.Cursor):
			// No write could be tried, or none it tried could be counted:
			// another pass would start from the same cursor, so the chain
			// ends here rather than run forever.
			h.log.ErrorContext(ctx, "the cursor did not move forward before the deadline; not continuing, the next scheduled run tries again",
				"pass", pass, "cursor", req.Cursor, "writes", res.Writes)
		case h.queue == nil:
			h.log.WarnContext(ctx, "no RESUME_QUEUE_URL: the next scheduled run continues", "cursor", res.Cursor)
		case trigger != diskalarm.TriggerSchedule && trigger != diskalarm.TriggerDirect:
			// A state change's run covers one instance; a continuation of
			// it would not decode (DecodeResume takes schedule or direct),
			// and would be reported as tampering. The schedule covers it.
			h.log.WarnContext(ctx, "a state change's run stopped at the deadline; the next scheduled run continues", "trigger", trigger, "cursor", res.Cursor)
		default:
			next := diskalarm.NextResume(req, trigger, pass, res)
			// The hand-over runs in the margin the reconcile kept free.
			fin, cancel := deadline.Finish(ctx)
			err := h.queue.Continue(fin, next)
			cancel()
			if err != nil {
				h.log.ErrorContext(ctx, "continuation not queued", "cursor", res.Cursor, "error", err.Error())
				return res, err
			}
			res.Continued = true
			h.metrics.Add("ContinuationsQueued", 1)
			h.log.InfoContext(ctx, "continuation queued", "cursor", res.Cursor, "pass", next.Pass)
		}
	}
	h.log.InfoContext(ctx, "reconcile done",
		"trigger", res.Trigger, "scope", res.Scope, "selection", res.Selection, "pass", pass,
		"instances", res.Instances, "disks", res.Disks,
		"created", res.Created, "updated", res.Updated, "unchanged", res.Unchanged, "deleted", res.Deleted, "kept", res.Kept,
		"skipped", res.SkippedTotal, "sizeUnknown", len(res.SizeUnknown), "failed", len(res.Failed),
		"incomplete", res.Incomplete, "note", res.Note)
	return res, nil
}

// noProgress is the error of a direct invocation that the deadline stopped
// before it could try a single write. It names the time the invocation had
// and the margin kept, so the operator knows the timeout is the cure.
func noProgress(res diskalarm.Result, given, fixed time.Duration) error {
	margin := deadline.Margin(given)
	if fixed > 0 {
		margin = fixed
	}
	return fmt.Errorf("%w: no alarm write could be tried before the deadline (%d left to write): the invocation had %s, kept %s of it to finish, and its reads and paced writes needed more than the rest; raise the function's timeout",
		diskalarm.ErrOutOfTime, res.Left, given.Round(time.Second), margin.Round(time.Millisecond))
}
