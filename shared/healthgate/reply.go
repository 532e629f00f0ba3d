package healthgate

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// ErrAnswerPanicked marks an answer call that panicked: it may or may not
// have reached CodePipeline, so it is not made again in the invocation.
var ErrAnswerPanicked = errors.New("the answer call panicked")

// GateResult is what a gate invocation returns. CodePipeline ignores it;
// it shows in tests and in `make local`.
type GateResult struct {
	JobID             string  `json:"jobId,omitempty"`
	Verdict           Verdict `json:"verdict"`
	Success           bool    `json:"success"`
	Text              string  `json:"text"` // the summary or the failure message
	ContinuationToken string  `json:"continuationToken,omitempty"`
	Answered          bool    `json:"answered"`
	// Refused: CodePipeline refused the gate's answer for good (Decided
	// is the verdict it refused); Answered says whether the failure sent
	// instead was taken.
	Refused bool    `json:"refused,omitempty"`
	Decided Verdict `json:"decided,omitempty"`
}

// Delivered is the decision on what Send did with the answer decided for
// jobID: the result, and the error for Lambda. A closed job needs nothing
// more (answered already, or timed out). A refusal cannot be helped by
// sending again, but must be seen: an error naming the job, for the
// Errors alarm and the on-failure queue. Any other error asks Lambda to
// retry the invocation.
func Delivered(jobID string, decided, sent Answer, sendErr error) (GateResult, error) {
	res := resultOf(jobID, sent)
	switch {
	case sendErr == nil:
		res.Answered = true
	case errors.Is(sendErr, ErrJobClosed):
		return res, nil
	case errors.Is(sendErr, ErrAnswerRefused):
		res.Refused, res.Decided = true, decided.Verdict
		res.Answered = errors.Is(sendErr, ErrAnswerReplaced)
	}
	return res, sendErr
}

// resultOf is the result of answer a for jobID, not yet answered.
func resultOf(jobID string, a Answer) GateResult {
	res := GateResult{JobID: jobID, Verdict: a.Verdict, Success: a.Success, ContinuationToken: a.ContinuationToken, Text: a.Message}
	if a.Success {
		res.Text = a.Summary
	}
	return res
}

// Reply sends one job's answer, once: the guard that never answers twice.
// A panic anywhere in the invocation goes to Recover, which fails the job
// only when no answer was tried.
type Reply struct {
	jobs              JobAPI
	jobID, externalID string

	tried, inCall bool
	decided       Answer
	res           GateResult
	err           error // what Send returns
	sendErr       error // what the answer call returned, ErrJobClosed included
}

// Reply returns the Reply for jobID; externalID ties the action's run to
// the invocation that answers it (the Lambda request ID).
func (g *Gate) Reply(jobID, externalID string) *Reply {
	return &Reply{jobs: g.Jobs, jobID: jobID, externalID: externalID}
}

// Send gives CodePipeline answer a (Send), on a context that ends at ctx's
// own deadline: the margin the check left free. Only the first call sends;
// a later one returns the first one's result.
func (r *Reply) Send(ctx context.Context, a Answer) (GateResult, error) {
	if r.tried {
		return r.res, r.err
	}
	r.tried, r.inCall, r.decided = true, true, a
	r.res = resultOf(r.jobID, a) // what stands if the call panics
	run := deadline.Start(ctx)
	defer run.Stop()
	fin, cancel := run.Finish()
	defer cancel()
	sent, err := Send(fin, r.jobs, r.jobID, r.externalID, a)
	r.inCall, r.sendErr = false, err
	r.res, r.err = Delivered(r.jobID, a, sent, err)
	return r.res, r.err
}

// Decided is the answer Send was given (zero before).
func (r *Reply) Decided() Answer { return r.decided }

// Err is what the answer call returned, for the log: ErrJobClosed too,
// which needs no retry, and ErrAnswerPanicked after Recover.
func (r *Reply) Err() error { return r.sendErr }

// Returned reports whether an answer call returned: a panic after it
// leaves the result as it stands.
func (r *Reply) Returned() bool { return r.tried && !r.inCall }

// Recover is the reply after a panic v in the invocation. Before any
// answer was tried, the job is failed (InternalAnswer, whatever
// onHealthError says: a bug must not pass a deployment). A panic in the
// answer call itself makes no second call: CodePipeline may have taken
// the answer, so the error (ErrAnswerPanicked) asks Lambda to retry the
// invocation, whose answer CodePipeline takes only if none was (it refuses
// a second one with InvalidJobStateException). After the answer, the
// result stands.
func (r *Reply) Recover(ctx context.Context, v any) (GateResult, error) {
	switch {
	case !r.tried:
		return r.Send(ctx, InternalAnswer(fmt.Sprintf("panic: %v", v)))
	case r.inCall:
		r.err = fmt.Errorf("answer job %s: %w: %v", r.jobID, ErrAnswerPanicked, v)
		r.sendErr = r.err
	}
	return r.res, r.err
}
