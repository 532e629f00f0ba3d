package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

type handler struct {
	gate    *healthgate.Gate
	log     *slog.Logger
	notify  *notify.Notifier  // nil: no notifications
	metrics *metrics.Recorder // nil records nothing
}

// count records the answer: passed, failed or waiting, by verdict, or not
// sent (and why).
func (h *handler) count(res healthgate.GateResult) {
	switch {
	case res.JobID == "":
		h.metrics.AddReason("GateAnswersNotSent", "no job", 1)
	case res.Refused:
		// CodePipeline refused the gate's answer, whether or not the
		// failure sent instead was taken: by the verdict decided.
		h.metrics.AddReason("GateAnswersRefused", string(res.Decided), 1)
	case !res.Answered:
		h.metrics.AddReason("GateAnswersNotSent", string(res.Verdict), 1)
	case res.ContinuationToken != "":
		h.metrics.AddReason("GateWaiting", string(res.Verdict), 1)
	case res.Success:
		h.metrics.AddReason("GatePassed", string(res.Verdict), 1)
	default:
		h.metrics.AddReason("GateFailed", string(res.Verdict), 1)
	}
}

// Handle answers the invocation's job once (healthgate.Reply): the answer
// goes out first, then it is logged and told. It returns an error when the
// answer could not be sent and a retry of the invocation can still give
// it, and when CodePipeline refused the answer for good
// (healthgate.ErrAnswerRefused, naming the job), for the Errors alarm.
//
// A panic before the answer fails the job; one in the answer call is not
// followed by another call and asks Lambda to retry; one after the answer
// leaves the result as it stands (healthgate.Reply.Recover).
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (res healthgate.GateResult, err error) {
	defer h.metrics.Flush()
	defer func() { h.count(res) }()
	job, decodeErr := healthgate.DecodeJob(raw)
	if job.ID == "" {
		// Without a job ID there is nobody to answer; CodePipeline never
		// sends such an event, so it is not from CodePipeline.
		text := "no CodePipeline job to answer"
		if decodeErr != nil {
			text = decodeErr.Error()
		}
		h.log.ErrorContext(ctx, "event rejected: no CodePipeline job to answer", "error", text)
		return healthgate.GateResult{Verdict: healthgate.VerdictInvalid, Text: text}, nil
	}
	reply := h.gate.Reply(job.ID, requestID(ctx))
	defer func() {
		if v := recover(); v != nil {
			returned := reply.Returned()
			res, err = reply.Recover(ctx, v)
			h.log.ErrorContext(ctx, "panic", "jobId", job.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if !returned {
				h.done(ctx, job, reply, res)
			}
		}
	}()
	res, err = reply.Send(ctx, h.gate.Answer(ctx, job, decodeErr))
	h.done(ctx, job, reply, res)
	return res, err
}

// done logs the decision and what became of it, and tells people.
func (h *handler) done(ctx context.Context, job healthgate.Job, reply *healthgate.Reply, res healthgate.GateResult) {
	a, err := reply.Decided(), reply.Err()
	arns := make([]string, len(a.Events))
	for i, e := range a.Events {
		arns[i] = e.ARN
	}
	attrs := []any{"jobId", job.ID, "verdict", a.Verdict, "success", a.Success, "continuing", a.ContinuationToken != "", "eventArns", arns}
	if a.Success {
		h.log.InfoContext(ctx, "decision", append(attrs, "summary", a.Summary)...)
	} else {
		h.log.WarnContext(ctx, "decision", append(attrs, "failureType", a.FailureType, "message", a.Message)...)
	}
	switch {
	case err == nil:
	case errors.Is(err, healthgate.ErrJobClosed):
		h.log.WarnContext(ctx, "CodePipeline no longer takes an answer for the job", "jobId", job.ID, "error", err.Error())
	case errors.Is(err, healthgate.ErrAnswerReplaced):
		h.log.ErrorContext(ctx, "CodePipeline refused the answer; failed the job instead", "jobId", job.ID, "verdict", a.Verdict, "message", res.Text, "error", err.Error())
	case errors.Is(err, healthgate.ErrAnswerRefused):
		h.log.ErrorContext(ctx, "CodePipeline refused the answer; the action stays open until it times out", "jobId", job.ID, "verdict", a.Verdict, "error", err.Error())
	case errors.Is(err, healthgate.ErrAnswerPanicked):
		h.log.ErrorContext(ctx, "the answer call panicked and is not repeated in this invocation (CodePipeline may have taken it); asking Lambda to retry the invocation, which answers the job or finds it answered",
			"jobId", job.ID, "error", err.Error())
	default:
		h.log.ErrorContext(ctx, "job not answered; asking Lambda to retry the invocation", "jobId", job.ID, "error", err.Error())
	}
	h.notifyResult(ctx, job, a, res)
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
