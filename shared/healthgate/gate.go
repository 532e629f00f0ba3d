package healthgate

import (
	"context"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// MinCheckTime is the least time the gate gives AWS Health: with less left
// between the margin and the Lambda deadline, it does not ask.
const MinCheckTime = time.Second

// CheckInput is what the gate knows of a job before it asks AWS Health.
type CheckInput struct {
	Job Job
	// DecodeErr is DecodeJob's error for a job that has an ID.
	DecodeErr error
	// Region is the function's own: the one empty UserParameters gate.
	Region string
	// View is whose events the check sees: the organization's, or the
	// function's own account's (View.Account).
	View View
	Now  time.Time
	// Left is the time the check may take, to the end of its budget;
	// Bounded is false when the invocation has no deadline (no limit).
	Left    time.Duration
	Bounded bool
	// Margin is the time kept before the Lambda deadline to answer, and
	// Explicit whether DEADLINE_MARGIN set it (or it scales with the time
	// given): the answer without time to check names the one that applies.
	Margin   time.Duration
	Explicit bool
}

// CheckPlan is the decision before the check: ask AWS Health with Params
// (and Token, nil on a job's first invocation), or answer at once.
type CheckPlan struct {
	Ask    bool
	Params Params
	Token  *Token
	// Answer is the answer when Ask is false.
	Answer Answer
}

// PlanCheck decides whether a job is checked. A malformed event, bad
// UserParameters and a bad continuation token fail the job, each naming
// its cause; so does a margin that leaves less than MinCheckTime for the
// check: a misconfiguration must never pass a deployment unchecked.
func PlanCheck(in CheckInput) CheckPlan {
	if in.DecodeErr != nil {
		return CheckPlan{Answer: InvalidEventAnswer(in.DecodeErr)}
	}
	params, err := ParseParams(in.Job.UserParameters, in.Region)
	if err == nil {
		err = params.CheckScope(in.View.Organization, in.View.Account)
	}
	if err != nil {
		return CheckPlan{Answer: InvalidAnswer(err)}
	}
	var tok *Token
	if in.Job.ContinuationToken != "" {
		t, err := ParseToken(in.Job.ContinuationToken, in.Now)
		if err != nil {
			return CheckPlan{Answer: InvalidTokenAnswer(err)}
		}
		tok = &t
	}
	if in.Bounded && in.Left < MinCheckTime {
		return CheckPlan{Answer: NoTimeAnswer(in.Left, in.Margin, MinCheckTime, in.Explicit)}
	}
	return CheckPlan{Ask: true, Params: params, Token: tok}
}

// Gate answers CodePipeline jobs: the adapter around PlanCheck, Check and
// Decide, and the Reply that sends each job's answer once.
type Gate struct {
	Health HealthAPI
	Jobs   JobAPI
	// Region is the function's own (AWS_REGION).
	Region string
	// Organization asks AWS Health's organizational view.
	Organization bool
	// Margin is DEADLINE_MARGIN: the time kept free before the Lambda
	// deadline to answer. Zero keeps the margin that scales with the time
	// given (deadline.Margin).
	Margin time.Duration
	Now    func() time.Time // the wall clock when nil
}

func (g *Gate) now() time.Time { return clock.Now(g.Now) }

// Answer decides the answer of job, whose DecodeJob error is decodeErr.
// The check runs on a budget that ends Margin (or the margin that scales
// with the time given) before ctx's deadline, which the answer goes out
// in; the SDK honours it, so a Health call still out when it ends returns
// ErrOutOfTime.
func (g *Gate) Answer(ctx context.Context, job Job, decodeErr error) Answer {
	run := deadline.StartKeeping(ctx, g.Margin)
	defer run.Stop()
	checkCtx := run.Work()
	view := View{Organization: g.Organization, Account: ownAccount(ctx, job)}
	in := CheckInput{Job: job, DecodeErr: decodeErr, Region: g.Region, View: view, Now: g.now(), Margin: run.Margin(), Explicit: g.Margin > 0}
	if dl, ok := checkCtx.Deadline(); ok {
		in.Left, in.Bounded = time.Until(dl), true
	}
	plan := PlanCheck(in)
	if !plan.Ask {
		return plan.Answer
	}
	events, err := Check(checkCtx, g.Health, plan.Params, view)
	return Decide(plan.Params, plan.Token, g.now(), events, err)
}

// ownAccount is the account whose AWS Health events the function sees
// without the organizational view: its own, from the ARN it was invoked
// by, or, outside Lambda, the job's.
func ownAccount(ctx context.Context, job Job) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		if a, err := arn.Parse(lc.InvokedFunctionArn); err == nil {
			return a.AccountID
		}
	}
	return job.AccountID
}
