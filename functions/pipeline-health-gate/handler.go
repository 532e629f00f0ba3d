package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
)

type handler struct {
	health       healthgate.HealthAPI
	jobs         healthgate.JobAPI
	region       string
	organization bool
	margin       time.Duration
	now          func() time.Time
	log          *slog.Logger
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
}

// errPanicked marks a check that panicked, so it fails the job whatever
// onHealthError says: a bug must not pass a deployment.
type errPanicked struct{ value any }

func (e errPanicked) Error() string { return fmt.Sprintf("panic: %v", e.value) }

// Handle answers the invocation's job exactly once: every path below ends
// in the single Send, including a panic (recovered into a failure), a
// Health check that would run into the Lambda deadline (cut short by
// margin) and a margin that leaves no time to check (failed unchecked).
// Send makes a second call only when CodePipeline refused a success for
// good, so that the job still gets an answer (a failure). It returns an
// error only when the answer could not be sent and a retry of the
// invocation can still give it.
func (h *handler) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	job, decodeErr := healthgate.DecodeJob(raw)
	if job.ID == "" {
		// Without a job ID there is nobody to answer; CodePipeline never
		// sends such an event, so it is not from CodePipeline.
		h.log.ErrorContext(ctx, "event rejected: no CodePipeline job to answer", "error", decodeErr.Error())
		return Result{Verdict: healthgate.VerdictInvalid, Text: decodeErr.Error()}, nil
	}

	answer := h.decide(ctx, job, decodeErr)
	h.logDecision(ctx, job, answer)

	sent, err := healthgate.Send(ctx, h.jobs, job.ID, requestID(ctx), answer)
	if sent.Verdict != answer.Verdict || sent.Success != answer.Success {
		h.log.ErrorContext(ctx, "CodePipeline refused the answer; failed the job instead", "jobId", job.ID, "verdict", answer.Verdict, "message", sent.Message)
	}
	res := Result{JobID: job.ID, Verdict: sent.Verdict, Success: sent.Success, ContinuationToken: sent.ContinuationToken, Text: sent.Message}
	if sent.Success {
		res.Text = sent.Summary
	}
	switch {
	case errors.Is(err, healthgate.ErrJobClosed):
		h.log.WarnContext(ctx, "CodePipeline no longer takes an answer for the job", "jobId", job.ID, "error", err.Error())
		return res, nil
	case errors.Is(err, healthgate.ErrAnswerRefused):
		// Sending the same answer again cannot help: no Lambda retry.
		h.log.ErrorContext(ctx, "CodePipeline refused the answer; the action stays open until it times out", "jobId", job.ID, "error", err.Error())
		return res, nil
	case err != nil:
		h.log.ErrorContext(ctx, "job not answered; asking Lambda to retry the invocation", "jobId", job.ID, "error", err.Error())
		return res, err
	}
	res.Answered = true
	return res, nil
}

// decide turns the job into its answer, and never panics.
func (h *handler) decide(ctx context.Context, job healthgate.Job, decodeErr error) (a healthgate.Answer) {
	defer func() {
		if v := recover(); v != nil {
			h.log.ErrorContext(ctx, "panic while deciding; failing the job", "jobId", job.ID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
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
		t, err := healthgate.ParseToken(job.ContinuationToken, h.clock())
		if err != nil {
			return healthgate.InvalidTokenAnswer(err)
		}
		tok = &t
	}
	if left, ok := h.timeToCheck(ctx); !ok {
		// A margin that leaves no time to ask AWS Health is a
		// misconfiguration: it must never pass a deployment unchecked.
		return healthgate.NoTimeAnswer(left, h.margin, minCheckTime)
	}
	events, err := h.check(ctx, params)
	var panicked errPanicked
	if errors.As(err, &panicked) {
		return healthgate.InternalAnswer(panicked.Error())
	}
	return healthgate.Decide(params, tok, h.clock(), events, err)
}

// minCheckTime is the least time the gate gives AWS Health: with less
// left between the margin and the Lambda deadline, it does not ask.
const minCheckTime = time.Second

// timeToCheck returns how long the check may take (the time to the Lambda
// deadline less the margin) and whether that is at least minCheckTime.
// Without a deadline there is no limit.
func (h *handler) timeToCheck(ctx context.Context) (time.Duration, bool) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return 0, true
	}
	left := time.Until(deadline) - h.margin
	return left, left >= minCheckTime
}

// check asks AWS Health, but gives up margin before the Lambda deadline so
// that the answer still reaches CodePipeline. It runs the call in its own
// goroutine: even a call that ignored its context could not hold the
// answer back.
func (h *handler) check(ctx context.Context, p healthgate.Params) ([]healthgate.Event, error) {
	checkCtx, cancel := ctx, context.CancelFunc(func() {})
	if deadline, ok := ctx.Deadline(); ok {
		checkCtx, cancel = context.WithDeadline(ctx, deadline.Add(-h.margin))
	}
	defer cancel()

	type result struct {
		events []healthgate.Event
		err    error
	}
	done := make(chan result, 1) // buffered: a late check must not leak blocked
	go func() {
		defer func() {
			if v := recover(); v != nil {
				h.log.ErrorContext(ctx, "panic in the AWS Health check", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				done <- result{err: errPanicked{v}}
			}
		}()
		events, err := healthgate.Check(checkCtx, h.health, p, h.organization)
		done <- result{events, err}
	}()
	select {
	case r := <-done:
		return r.events, r.err
	case <-checkCtx.Done():
		return nil, fmt.Errorf("check AWS Health: %w: %w", healthgate.ErrOutOfTime, checkCtx.Err())
	}
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

func (h *handler) clock() time.Time {
	if h.now != nil {
		return h.now()
	}
	return time.Now()
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
