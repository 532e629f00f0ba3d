package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

type handler struct {
	health       healthgate.HealthAPI
	jobs         healthgate.JobAPI
	region       string
	organization bool
	margin       time.Duration
	Now          func() time.Time // the wall clock when nil
	log          *slog.Logger
	notify       *notify.Notifier  // nil: no notifications
	metrics      *metrics.Recorder // nil records nothing
}

// count records the answer: passed, failed or waiting, by verdict, or not
// sent (and why).
func (h *handler) count(res Result) {
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

// Result is what an invocation returns. CodePipeline ignores it; it shows
// in tests and in `make local`.
type Result struct {
	JobID             string             `json:"jobId,omitempty"`
	Verdict           healthgate.Verdict `json:"verdict"`
	Success           bool               `json:"success"`
	Text              string             `json:"text"` // the summary or the failure message
	ContinuationToken string             `json:"continuationToken,omitempty"`
	Answered          bool               `json:"answered"`
	// Refused: CodePipeline refused the gate's answer for good (Decided
	// is the verdict it refused); Answered says whether the failure sent
	// instead was taken.
	Refused bool               `json:"refused,omitempty"`
	Decided healthgate.Verdict `json:"decided,omitempty"`
}

// Handle answers the invocation's job exactly once: every path below ends
// in the single Send, including a panic (recovered into a failure), a
// Health check that would run into the Lambda deadline (cut short by
// margin) and a margin that leaves no time to check (failed unchecked).
// Send makes a second call only when CodePipeline refused a success for
// good, so that the job still gets an answer (a failure). It returns an
// error when the answer could not be sent and a retry of the invocation
// can still give it, and when CodePipeline refused the answer for good
// (ErrAnswerRefused, naming the job): then no retry can help, but the
// refusal must not pass unseen, so it is an error for the function's
// Errors alarm; the Lambda retries are refused alike and the event ends in
// the on-failure queue, unless the failure sent instead was taken, in which
// case the retries find the job answered and end quietly.
//
// No panic leaves Handle. One before the answer call fails the job; one in
// logging the decision leaves the decision as it is. One in the answer call
// itself is not followed by another call: CodePipeline may have taken the
// answer, so Handle returns an error and Lambda retries the invocation,
// whose answer CodePipeline takes only if none was (it refuses a second
// one for the job with InvalidJobStateException). One after the answer
// keeps the result as it stood.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (res Result, err error) {
	defer h.metrics.Flush()
	defer func() { h.guard(ctx, "counting the answer", res.JobID, func() { h.count(res) }) }()
	job, answer, decodeErr := h.prepare(ctx, raw)
	if job.ID == "" {
		// Without a job ID there is nobody to answer; CodePipeline never
		// sends such an event, so it is not from CodePipeline.
		text := "no CodePipeline job to answer"
		if decodeErr != nil {
			text = decodeErr.Error()
		}
		h.guard(ctx, "logging the rejected event", job.ID, func() {
			h.log.ErrorContext(ctx, "event rejected: no CodePipeline job to answer", "error", text)
		})
		return Result{Verdict: healthgate.VerdictInvalid, Text: text}, nil
	}
	h.guard(ctx, "logging the decision", job.ID, func() { h.logDecision(ctx, job, answer) })
	res, err = h.reply(ctx, job, answer)
	h.guard(ctx, "notifying", job.ID, func() { h.notifyResult(ctx, job, answer, res) })
	return res, err
}

// prepare reads the event and decides the answer. A panic in either is
// recovered into a failure of the job (when the event named one).
func (h *handler) prepare(ctx context.Context, raw json.RawMessage) (job healthgate.Job, a healthgate.Answer, decodeErr error) {
	defer func() {
		if v := recover(); v != nil {
			h.logPanic(ctx, "reading the job", job.ID, v)
			a, decodeErr = healthgate.InternalAnswer(fmt.Sprintf("panic: %v", v)), fmt.Errorf("panic reading the job: %v", v)
		}
	}()
	job, decodeErr = healthgate.DecodeJob(raw)
	if job.ID == "" {
		return job, a, decodeErr
	}
	return job, h.decide(ctx, job, decodeErr), decodeErr
}

// errAnswerPanicked marks an answer call that panicked: it may or may not
// have reached CodePipeline.
var errAnswerPanicked = errors.New("the answer call panicked")

// send is healthgate.Send with a panic in the call turned into an error
// wrapping errAnswerPanicked.
func (h *handler) send(ctx context.Context, jobID string, a healthgate.Answer) (sent healthgate.Answer, err error) {
	defer func() {
		if v := recover(); v != nil {
			h.logPanic(ctx, "answering CodePipeline", jobID, v)
			sent, err = a, fmt.Errorf("answer job %s: %w: %v", jobID, errAnswerPanicked, v)
		}
	}()
	return healthgate.Send(ctx, h.jobs, jobID, requestID(ctx), a)
}

// reply sends the answer once and turns what happened into the result.
func (h *handler) reply(ctx context.Context, job healthgate.Job, answer healthgate.Answer) (res Result, err error) {
	// The answer goes out in the margin the check left free.
	fin, cancel := deadline.Finish(ctx)
	defer cancel()
	sent, sendErr := h.send(fin, job.ID, answer)
	res = Result{JobID: job.ID, Verdict: sent.Verdict, Success: sent.Success, ContinuationToken: sent.ContinuationToken, Text: sent.Message}
	if sent.Success {
		res.Text = sent.Summary
	}
	switch {
	case sendErr == nil:
		res.Answered = true
	case errors.Is(sendErr, healthgate.ErrJobClosed):
		// Answered already, or timed out: nothing is left to do.
	case errors.Is(sendErr, healthgate.ErrAnswerRefused):
		// Sending it again cannot help, but the refusal must be seen: an
		// error, naming the job, for the Errors alarm and the on-failure
		// queue (issue 18).
		res.Refused, res.Decided = true, answer.Verdict
		res.Answered = errors.Is(sendErr, healthgate.ErrAnswerReplaced)
		err = sendErr
	default:
		err = sendErr
	}
	// What is left only logs: a panic in it keeps the result as it is.
	defer func() {
		if v := recover(); v != nil {
			h.logPanic(ctx, "logging the answer", job.ID, v)
		}
	}()
	switch {
	case errors.Is(sendErr, healthgate.ErrJobClosed):
		h.log.WarnContext(ctx, "CodePipeline no longer takes an answer for the job", "jobId", job.ID, "error", sendErr.Error())
	case errors.Is(sendErr, healthgate.ErrAnswerReplaced):
		h.log.ErrorContext(ctx, "CodePipeline refused the answer; failed the job instead", "jobId", job.ID, "verdict", answer.Verdict, "message", sent.Message, "error", sendErr.Error())
	case errors.Is(sendErr, healthgate.ErrAnswerRefused):
		h.log.ErrorContext(ctx, "CodePipeline refused the answer; the action stays open until it times out", "jobId", job.ID, "verdict", answer.Verdict, "error", sendErr.Error())
	case errors.Is(sendErr, errAnswerPanicked):
		h.log.ErrorContext(ctx, "the answer call panicked and is not repeated in this invocation (CodePipeline may have taken it); asking Lambda to retry the invocation, which answers the job or finds it answered",
			"jobId", job.ID, "error", sendErr.Error())
	case sendErr != nil:
		h.log.ErrorContext(ctx, "job not answered; asking Lambda to retry the invocation", "jobId", job.ID, "error", sendErr.Error())
	}
	return res, err
}

// decide turns the job into its answer, and never panics.
func (h *handler) decide(ctx context.Context, job healthgate.Job, decodeErr error) (a healthgate.Answer) {
	defer func() {
		if v := recover(); v != nil {
			h.logPanic(ctx, "deciding", job.ID, v)
			a = healthgate.InternalAnswer(fmt.Sprintf("panic: %v", v))
		}
	}()
	if decodeErr != nil {
		return healthgate.InvalidEventAnswer(decodeErr)
	}
	params, err := healthgate.ParseParams(job.UserParameters, h.region)
	if err != nil {
		return healthgate.InvalidAnswer(err)
	}
	var tok *healthgate.Token
	if job.ContinuationToken != "" {
		t, err := healthgate.ParseToken(job.ContinuationToken, h.now())
		if err != nil {
			return healthgate.InvalidTokenAnswer(err)
		}
		tok = &t
	}
	// The check ends DEADLINE_MARGIN, or the margin that scales with the
	// time given, before the Lambda deadline: the answer goes out in it.
	checkCtx, cancel, margin := deadline.BudgetKeeping(ctx, h.margin)
	defer cancel()
	if left, ok := timeToCheck(checkCtx); !ok {
		// A timeout or margin that leaves no time to ask AWS Health is a
		// misconfiguration: it must never pass a deployment unchecked.
		return healthgate.NoTimeAnswer(left, margin, minCheckTime, h.margin > 0)
	}
	// The SDK honours checkCtx: a Health call still out when it ends
	// returns ErrOutOfTime. A panic in the check is recovered above into a
	// failure, whatever onHealthError says: a bug must not pass a
	// deployment.
	events, err := healthgate.Check(checkCtx, h.health, params, h.organization)
	return healthgate.Decide(params, tok, h.now(), events, err)
}

// guard runs f, which only logs, and recovers a panic in it.
func (h *handler) guard(ctx context.Context, what, jobID string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			h.logPanic(ctx, what, jobID, v)
		}
	}()
	f()
}

// logPanic logs a recovered panic with its stack. The logger may be what
// panicked: then the line goes to stderr, which Lambda keeps in the log.
func (h *handler) logPanic(ctx context.Context, what, jobID string, v any) {
	stack := string(debug.Stack())
	defer func() {
		if recover() != nil {
			fmt.Fprintf(os.Stderr, "panic while %s (job %q): %v\n%s\n", what, jobID, v, stack)
		}
	}()
	h.log.ErrorContext(ctx, "panic while "+what, "jobId", jobID, "panic", fmt.Sprint(v), "stack", stack)
}

// minCheckTime is the least time the gate gives AWS Health: with less
// left between the margin and the Lambda deadline, it does not ask.
const minCheckTime = time.Second

// timeToCheck returns how long the check may take (the time to checkCtx's
// deadline) and whether that is at least minCheckTime. Without a deadline
// there is no limit.
func timeToCheck(checkCtx context.Context) (time.Duration, bool) {
	dl, ok := checkCtx.Deadline()
	if !ok {
		return 0, true
	}
	left := time.Until(dl)
	return left, left >= minCheckTime
}

func (h *handler) logDecision(ctx context.Context, job healthgate.Job, a healthgate.Answer) {
	arns := make([]string, len(a.Events))
	for i, e := range a.Events {
		arns[i] = e.ARN
	}
	attrs := []any{"jobId", job.ID, "verdict", a.Verdict, "success", a.Success, "continuing", a.ContinuationToken != "", "eventArns", arns}
	if a.Success {
		h.log.InfoContext(ctx, "decision", append(attrs, "summary", a.Summary)...)
		return
	}
	h.log.WarnContext(ctx, "decision", append(attrs, "failureType", a.FailureType, "message", a.Message)...)
}

func (h *handler) now() time.Time { return clock.Now(h.Now) }

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
