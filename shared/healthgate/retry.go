package healthgate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// StageFailure is a "CodePipeline Stage Execution State Change" event with
// state FAILED.
type StageFailure struct {
	Pipeline    string
	Stage       string
	ExecutionID string
	Region      string
	Time        time.Time
}

// Recheck is the delayed message that asks pipeline-stage-retry to look
// at a failed stage again. EventBridge Scheduler delivers it as the
// invocation's payload; everything it needs travels in it.
type Recheck struct {
	Kind        string    `json:"kind"`
	Pipeline    string    `json:"pipeline"`
	Stage       string    `json:"stage"`
	ExecutionID string    `json:"executionId"`
	FailedAt    time.Time `json:"failedAt"`
	// Check counts the re-checks: 1 for the first.
	Check int `json:"check"`
	// RetriesSeen is the stage's retry count when it failed: if it has
	// grown, somebody (a person, or an earlier recheck) retried already.
	RetriesSeen int `json:"retriesSeen"`
	// Checks are the AWS Health checks to pass, as UserParameters.
	Checks []string `json:"checks"`
	// Events are the ARNs of the AWS Health events that blocked the stage
	// at the last check, as far as known: an all-clear of one of them
	// re-checks the stage at once (HandleHealthChange). Absent in older
	// messages, and when the gate's message named none; such a stage is
	// re-checked on any all-clear.
	Events []string `json:"events,omitempty"`
	// DueAt is when the schedule runs the re-check. A re-check due within
	// MAX_RETRY_WINDOW that EventBridge Scheduler delivers a little late
	// (to the minute) still runs. Absent in older messages.
	DueAt time.Time `json:"dueAt,omitzero"`
}

// RecheckKind marks a payload as a Recheck.
const RecheckKind = "pipelineStageRecheck"

// stageEventDetail is the event's detail. aws-lambda-go's
// CodePipelineEventDetail reads "version" as an integer, but CodePipeline
// sends 1.0, which encoding/json refuses for an int64.
type stageEventDetail struct {
	Pipeline    string `json:"pipeline"`
	ExecutionID string `json:"execution-id"`
	Stage       string `json:"stage"`
	State       string `json:"state"`
}

// ErrNotStageFailure marks a payload that is neither a FAILED stage event,
// a Recheck nor an AWS Health event: nothing to do, and no retry can change
// that.
var ErrNotStageFailure = errors.New("not a FAILED stage event, a recheck message or an AWS Health event")

// RetryInput is pipeline-stage-retry's payload, decoded: exactly one of
// its fields is set.
type RetryInput struct {
	Failure *StageFailure
	Recheck *Recheck
	Health  *HealthChange
}

// DecodeRetryInput reads pipeline-stage-retry's payload: a StageFailure
// from EventBridge, a Recheck from EventBridge Scheduler, or an AWS Health
// event (DecodeHealthChange) from EventBridge.
func DecodeRetryInput(raw []byte) (RetryInput, error) {
	failure, recheck, health, err := decodeRetryInput(raw)
	return RetryInput{Failure: failure, Recheck: recheck, Health: health}, err
}

func decodeRetryInput(raw []byte) (*StageFailure, *Recheck, *HealthChange, error) {
	var probe struct {
		Kind       string `json:"kind"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: %w", ErrNotStageFailure, err)
	}
	switch {
	case probe.Kind == RecheckKind:
		var m Recheck
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: recheck: %w", ErrNotStageFailure, err)
		}
		if m.Pipeline == "" || m.Stage == "" || m.ExecutionID == "" || m.Check < 1 || len(m.Checks) == 0 || m.FailedAt.IsZero() {
			return nil, nil, nil, fmt.Errorf("%w: recheck lacks pipeline, stage, executionId, failedAt, check or checks", ErrNotStageFailure)
		}
		if err := validStage(m.Pipeline, m.Stage, m.ExecutionID); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: recheck: %w", ErrNotStageFailure, err)
		}
		return nil, &m, nil, nil
	case probe.DetailType == HealthEventDetailType:
		h, err := DecodeHealthChange(raw)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrNotStageFailure, err)
		}
		return nil, nil, h, nil
	case probe.DetailType == events.CodePipelineStageEventDetailType:
		var ev events.CloudWatchEvent
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrNotStageFailure, err)
		}
		var d stageEventDetail
		if err := json.Unmarshal(ev.Detail, &d); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: detail: %w", ErrNotStageFailure, err)
		}
		if ev.Source != events.CodePipelineEventSource || d.State != string(events.CodePipelineStageStateFailed) {
			return nil, nil, nil, fmt.Errorf("%w: source %q, state %q", ErrNotStageFailure, ev.Source, d.State)
		}
		if d.Pipeline == "" || d.Stage == "" || d.ExecutionID == "" {
			return nil, nil, nil, fmt.Errorf("%w: detail lacks pipeline, stage or execution-id", ErrNotStageFailure)
		}
		if err := validStage(d.Pipeline, d.Stage, d.ExecutionID); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrNotStageFailure, err)
		}
		if err := awsid.CheckResources(ev.Resources, "codepipeline", d.Pipeline); err != nil {
			return nil, nil, nil, fmt.Errorf("%w: %w", ErrNotStageFailure, err)
		}
		return &StageFailure{Pipeline: d.Pipeline, Stage: d.Stage, ExecutionID: d.ExecutionID, Region: ev.Region, Time: ev.Time}, nil, nil, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: detail-type %q", ErrNotStageFailure, awsid.Clip(probe.DetailType, 64))
}

// CodePipeline's rules for the names and IDs a stage event carries.
var (
	executionIDPattern = regexp.MustCompile(`^[0-9a-f-]{36}$`)
)

// validStage checks the names and the execution ID before any of them is
// used in a call, a schedule's name or a log line.
func validStage(pipeline, stage, executionID string) error {
	var errs []error
	if !awsid.IsPipelineName(pipeline) {
		errs = append(errs, fmt.Errorf("%q is not a pipeline name", awsid.Clip(pipeline, 64)))
	}
	if !awsid.IsPipelineName(stage) {
		errs = append(errs, fmt.Errorf("%q is not a stage name", awsid.Clip(stage, 64)))
	}
	if !executionIDPattern.MatchString(executionID) {
		errs = append(errs, fmt.Errorf("%q is not a pipeline execution ID", awsid.Clip(executionID, 64)))
	}
	return errors.Join(errs...)
}

// RetryConfig is pipeline-stage-retry's configuration.
type RetryConfig struct {
	// Pipelines are the opted-in pipelines, by name.
	Pipelines []string
	// AnyFailure also retries stages that failed for another reason than
	// the gate; they are checked with DefaultCheck.
	AnyFailure   bool
	DefaultCheck Params
	// FirstDelay is the wait before the first re-check; each next one
	// doubles, up to MaxDelay, until Window has passed since the failure.
	FirstDelay, MaxDelay, Window time.Duration
	ScheduleGroup                string
	// SchedulerRoleARN is the role EventBridge Scheduler invokes the
	// function with.
	SchedulerRoleARN string
	// Region is the function's, for parsing UserParameters.
	Region string
	// Organization asks AWS Health's organizational view.
	Organization bool
}

// The bounds of RetryConfig's timing, as pipeline-stage-retry reads it
// (RECHECK_DELAY, RECHECK_MAX_DELAY, MAX_RETRY_WINDOW); the infra checks
// the same at synth, so a bad value fails there, not at a cold start.
// RECHECK_MAX_DELAY must also be at least RECHECK_DELAY.
const (
	RecheckDelayMin    = time.Second
	RecheckDelayMax    = time.Hour
	RecheckMaxDelayMin = time.Second
	RecheckMaxDelayMax = 12 * time.Hour
	RetryWindowMin     = time.Minute
	RetryWindowMax     = 7 * 24 * time.Hour
)

// Retrier re-checks AWS Health for failed stages of opted-in pipelines
// and retries their failed actions once it is healthy.
type Retrier struct {
	Config       RetryConfig
	CodePipeline PipelineAPI
	Scheduler    ScheduleAPI
	Health       HealthAPI
	Log          *slog.Logger
	Now          func() time.Time
}

// Retry outcomes.
const (
	RetryIgnored   = "ignored"   // not opted in, or not a failure to retry
	RetryScheduled = "scheduled" // a re-check is scheduled
	RetryDuplicate = "duplicate" // that re-check was scheduled already
	RetryDropped   = "dropped"   // the stage moved on: newer run, or retried
	RetryGaveUp    = "gaveUp"    // MaxRetryWindow passed
	RetryRetried   = "retried"   // RetryStageExecution(FAILED_ACTIONS) sent
	// RetryStillBlocked: an all-clear's re-check found the stage still
	// blocked; its scheduled re-check stays.
	RetryStillBlocked = "stillBlocked"
)

// RetryResult says what the function did and why.
type RetryResult struct {
	Outcome     string `json:"outcome"`
	Reason      string `json:"reason"`
	Pipeline    string `json:"pipeline,omitempty"`
	Stage       string `json:"stage,omitempty"`
	ExecutionID string `json:"executionId,omitempty"`
	Check       int    `json:"check,omitempty"`
	Schedule    string `json:"schedule,omitempty"`
	RunAt       string `json:"runAt,omitempty"`
	// Stages are the re-checks an AWS Health all-clear made, one per
	// waiting stage.
	Stages []RetryResult `json:"stages,omitempty"`
}

func (r *Retrier) now() time.Time { return clock.Now(r.Now) }

// HandleFailure decides whether a failed stage is to be retried and, if so,
// schedules its first re-check. target is the ARN the schedule invokes (the
// function itself).
func (r *Retrier) HandleFailure(ctx context.Context, f StageFailure, target string) (RetryResult, error) {
	res := RetryResult{Pipeline: f.Pipeline, Stage: f.Stage, ExecutionID: f.ExecutionID}
	if !slices.Contains(r.Config.Pipelines, f.Pipeline) {
		res.Outcome, res.Reason = RetryIgnored, "pipeline is not opted in"
		return res, nil
	}
	// A failure older than the window (an event replayed from an archive,
	// or delivered very late) is past retrying whatever the pipeline's
	// state: say so before reading it.
	if age := r.now().Sub(f.Time); !f.Time.IsZero() && age > r.Config.Window {
		res.Outcome, res.Reason = RetryGaveUp, fmt.Sprintf("the stage failed %s ago, older than MAX_RETRY_WINDOW %s: too old to re-check; the stage stays failed for a person to retry", age.Round(time.Second), r.Config.Window)
		return res, nil
	}
	stage, err := r.stageState(ctx, f.Pipeline, f.Stage)
	if err != nil {
		return res, err
	}
	if reason := stillFailed(stage, f.ExecutionID); reason != "" {
		res.Outcome, res.Reason = RetryDropped, reason
		return res, nil
	}
	checks, reason, err := r.checksFor(ctx, f.Pipeline, stage)
	if err != nil {
		return res, err
	}
	if checks == nil {
		res.Outcome, res.Reason = RetryIgnored, reason
		return res, nil
	}
	failedAt := f.Time
	if failedAt.IsZero() {
		failedAt = r.now()
	}
	m := Recheck{
		Kind: RecheckKind, Pipeline: f.Pipeline, Stage: f.Stage, ExecutionID: f.ExecutionID,
		FailedAt: failedAt.UTC(), Check: 1, RetriesSeen: retries(stage), Checks: checks,
		Events: recorded(blockingEvents(stage)),
	}
	return r.schedule(ctx, m, target, reason)
}

// HandleRecheck looks at the stage again: gone → drop; window passed →
// give up; unhealthy → schedule the next re-check; healthy → retry the
// failed actions.
func (r *Retrier) HandleRecheck(ctx context.Context, m Recheck, target string) (RetryResult, error) {
	return r.recheck(ctx, m, target, true)
}

// recheck is HandleRecheck. With chain false (a re-check the all-clear of
// an AWS Health event asked for, not the schedule's), a stage still
// blocked is left to the schedule that is already waiting (RetryStillBlocked),
// and one past the window to its last schedule: only the schedules make or
// end the chain, so an event can bring a retry forward but never add,
// drop or repeat one.
func (r *Retrier) recheck(ctx context.Context, m Recheck, target string, chain bool) (RetryResult, error) {
	res := RetryResult{Pipeline: m.Pipeline, Stage: m.Stage, ExecutionID: m.ExecutionID, Check: m.Check}
	if !slices.Contains(r.Config.Pipelines, m.Pipeline) {
		res.Outcome, res.Reason = RetryIgnored, "pipeline is not opted in (any more)"
		return res, nil
	}
	now := r.now()
	if now.Sub(m.FailedAt) > r.Config.Window && !chain {
		res.Outcome, res.Reason = RetryIgnored, "past MAX_RETRY_WINDOW: the last scheduled re-check ends the chain"
		return res, nil
	}
	if now.Sub(m.FailedAt) > r.Config.Window && !deliveredLate(m, now, r.Config.Window) {
		res.Outcome, res.Reason = RetryGaveUp, fmt.Sprintf("still blocked %s after the failure, past MAX_RETRY_WINDOW %s: the stage stays failed for a person to retry", now.Sub(m.FailedAt).Round(time.Second), r.Config.Window)
		return res, nil
	}
	stage, err := r.stageState(ctx, m.Pipeline, m.Stage)
	if err != nil {
		return res, err
	}
	if reason := stillFailed(stage, m.ExecutionID); reason != "" {
		res.Outcome, res.Reason = RetryDropped, reason
		return res, nil
	}
	if n := retries(stage); n != m.RetriesSeen {
		res.Outcome, res.Reason = RetryDropped, fmt.Sprintf("the stage was retried since it failed (%d retries, %d then)", n, m.RetriesSeen)
		return res, nil
	}

	// AWS Health is asked on a budget that ends a margin before the
	// deadline (deadline.Start); the retry or the next re-check's schedule
	// go out in that margin (Finish), so a Health that does not answer
	// still hands the chain on.
	run := deadline.Start(ctx)
	blockers, err := r.blockers(run.Work(), m.Checks, target)
	run.Stop()
	fin, cancel := run.Finish()
	defer cancel()
	if err != nil || len(blockers) > 0 {
		why := fmt.Sprintf("still blocked: %s", blockersText(blockers))
		if err != nil {
			why = fmt.Sprintf("AWS Health could not be checked (%s)", DescribeHealthError(err))
		}
		if !chain {
			res.Outcome, res.Reason = RetryStillBlocked, why+fmt.Sprintf("; re-check %d stays scheduled", m.Check)
			return res, nil
		}
		next := m
		next.Check++
		if err == nil {
			next.Events = recorded(arns(blockers))
		}
		return r.schedule(fin, next, target, why)
	}

	_, err = r.CodePipeline.RetryStageExecution(fin, &codepipeline.RetryStageExecutionInput{
		PipelineName:        aws.String(m.Pipeline),
		StageName:           aws.String(m.Stage),
		PipelineExecutionId: aws.String(m.ExecutionID),
		RetryMode:           cptypes.StageRetryModeFailedActions,
	})
	var notRetryable *cptypes.StageNotRetryableException
	var notLatest *cptypes.NotLatestPipelineExecutionException
	var conflict *cptypes.ConflictException
	switch {
	case errors.As(err, &notRetryable), errors.As(err, &notLatest), errors.As(err, &conflict):
		// A newer run or a person has taken over: nothing is left to do.
		res.Outcome, res.Reason = RetryDropped, "CodePipeline refused the retry: "+awsid.Clip(err.Error(), 300)
		return res, nil
	case err != nil:
		return res, fmt.Errorf("retry stage %s of %s (execution %s): %w", m.Stage, m.Pipeline, m.ExecutionID, err)
	}
	res.Outcome, res.Reason = RetryRetried, fmt.Sprintf("AWS Health is clear; retried the failed actions after %d checks", m.Check)
	return res, nil
}

func (r *Retrier) stageState(ctx context.Context, pipeline, stage string) (cptypes.StageState, error) {
	out, err := r.CodePipeline.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String(pipeline)})
	if err != nil {
		return cptypes.StageState{}, fmt.Errorf("get state of pipeline %s: %w", pipeline, err)
	}
	for _, s := range out.StageStates {
		if aws.ToString(s.StageName) == stage {
			return s, nil
		}
	}
	return cptypes.StageState{StageName: aws.String(stage)}, nil
}

// stillFailed returns why the stage is no longer the failure to retry, or "".
func stillFailed(s cptypes.StageState, executionID string) string {
	switch {
	case s.LatestExecution == nil:
		return "the stage has no execution (renamed or removed?)"
	case aws.ToString(s.LatestExecution.PipelineExecutionId) != executionID:
		return fmt.Sprintf("a newer execution %s is in the stage", aws.ToString(s.LatestExecution.PipelineExecutionId))
	case s.LatestExecution.Status != cptypes.StageExecutionStatusFailed:
		return fmt.Sprintf("the stage is %s now", s.LatestExecution.Status)
	}
	return ""
}

func retries(s cptypes.StageState) int {
	if s.RetryStageMetadata == nil {
		return 0
	}
	return int(aws.ToInt32(s.RetryStageMetadata.ManualStageRetryAttempt) + aws.ToInt32(s.RetryStageMetadata.AutoStageRetryAttempt))
}

// checksFor decides whether the stage's failure is one to retry and which
// checks must pass first. Every failed action must have been blocked by the
// gate (their own UserParameters are the checks), unless AnyFailure is set
// (then DefaultCheck is). nil checks: not to retry, for the reason given.
func (r *Retrier) checksFor(ctx context.Context, pipeline string, s cptypes.StageState) ([]string, string, error) {
	var gateActions, otherActions []string
	for _, a := range s.ActionStates {
		e := a.LatestExecution
		if e == nil || e.Status != cptypes.ActionExecutionStatusFailed {
			continue
		}
		if e.ErrorDetails != nil && strings.HasPrefix(aws.ToString(e.ErrorDetails.Message), BlockedPrefix) {
			gateActions = append(gateActions, aws.ToString(a.ActionName))
		} else {
			otherActions = append(otherActions, aws.ToString(a.ActionName))
		}
	}
	switch {
	case len(gateActions) == 0 && len(otherActions) == 0:
		return nil, "no failed action in the stage", nil
	case len(otherActions) > 0 && !r.Config.AnyFailure:
		return nil, fmt.Sprintf("action(s) %s failed for another reason than AWS Health (RETRY_ANY_FAILURE is off)", strings.Join(otherActions, ", ")), nil
	}
	var checks []string
	if len(otherActions) > 0 {
		checks = append(checks, r.Config.DefaultCheck.UserParameters())
	}
	if len(gateActions) > 0 {
		params, err := r.gateParams(ctx, pipeline, aws.ToString(s.StageName), gateActions)
		if err != nil {
			return nil, "", err
		}
		checks = append(checks, params...)
	}
	return checks, fmt.Sprintf("blocked by AWS Health: %s", strings.Join(append(gateActions, otherActions...), ", ")), nil
}

// gateParams reads the UserParameters of the named actions from the
// pipeline's definition, so the re-check asks exactly what the gate asked.
func (r *Retrier) gateParams(ctx context.Context, pipeline, stage string, actions []string) ([]string, error) {
	out, err := r.CodePipeline.GetPipeline(ctx, &codepipeline.GetPipelineInput{Name: aws.String(pipeline)})
	if err != nil {
		return nil, fmt.Errorf("get pipeline %s: %w", pipeline, err)
	}
	var params []string
	for _, s := range out.Pipeline.Stages {
		if aws.ToString(s.Name) != stage {
			continue
		}
		for _, a := range s.Actions {
			if !slices.Contains(actions, aws.ToString(a.Name)) {
				continue
			}
			p, err := ParseParams(a.Configuration["UserParameters"], r.Config.Region)
			if err != nil {
				// The gate would have failed it as invalid, not blocked:
				// the definition changed since. Check the defaults.
				p = r.Config.DefaultCheck
			}
			params = append(params, p.UserParameters())
		}
	}
	if len(params) == 0 {
		return nil, fmt.Errorf("pipeline %s has no action %s in stage %s any more", pipeline, strings.Join(actions, ", "), stage)
	}
	return params, nil
}

// blockers runs every check and returns the events that still block.
// target is the function's ARN, whose account is the one it sees without
// the organizational view.
func (r *Retrier) blockers(ctx context.Context, checks []string, target string) ([]Event, error) {
	view := View{Organization: r.Config.Organization}
	if a, err := arn.Parse(target); err == nil {
		view.Account = a.AccountID
	}
	var out []Event
	for _, c := range checks {
		p, err := ParseParams(c, r.Config.Region)
		if err == nil {
			err = p.CheckScope(view.Organization, view.Account)
		}
		if err != nil {
			return nil, err
		}
		events, err := Check(ctx, r.Health, p, view)
		if err != nil {
			return nil, err
		}
		out = append(out, events...)
	}
	return out, nil
}

func blockersText(events []Event) string {
	lines := make([]string, 0, 3)
	for i, e := range events {
		if i == 3 {
			lines = append(lines, fmt.Sprintf("and %d more", len(events)-3))
			break
		}
		lines = append(lines, eventLine(e))
	}
	return strings.Join(lines, "; ")
}

// Delay is the wait before re-check n (1, 2, ...): FirstDelay doubling up
// to MaxDelay.
func (c RetryConfig) Delay(check int) time.Duration {
	d := c.FirstDelay
	for i := 1; i < check && d < c.MaxDelay; i++ {
		d *= 2
	}
	return min(d, c.MaxDelay)
}

// MinLastCheck is the least time before the end of MAX_RETRY_WINDOW worth
// a last re-check: when the next check in the back-off would land past the
// window, it runs at the window's end instead, if at least this is left.
const MinLastCheck = time.Minute

// lateDelivery is how late a re-check due within the window may arrive
// and still run: EventBridge Scheduler runs one-time schedules to the
// minute.
const lateDelivery = 2 * time.Minute

// deliveredLate reports whether m was due within window and has arrived
// only a little after it.
func deliveredLate(m Recheck, now time.Time, window time.Duration) bool {
	return !m.DueAt.IsZero() && m.DueAt.Sub(m.FailedAt) <= window && now.Sub(m.DueAt) <= lateDelivery
}

// schedulePrefix starts every re-check schedule's name.
const schedulePrefix = "healthgate-"

// ScheduleName is the re-check's schedule name. It is the same for the
// same failed stage execution and check number, so a redelivered event or
// message makes CreateSchedule answer ConflictException instead of a
// second schedule: one chain of re-checks, and so one retry, per failure.
func ScheduleName(m Recheck) string {
	sum := sha256.Sum256([]byte(strings.Join([]string{m.Pipeline, m.Stage, m.ExecutionID, strconv.Itoa(m.RetriesSeen)}, "\x00")))
	return fmt.Sprintf("%s%s-%d", schedulePrefix, hex.EncodeToString(sum[:12]), m.Check)
}

func (r *Retrier) schedule(ctx context.Context, m Recheck, target, why string) (RetryResult, error) {
	res := RetryResult{Pipeline: m.Pipeline, Stage: m.Stage, ExecutionID: m.ExecutionID, Check: m.Check}
	if target == "" {
		return res, errors.New("no function ARN for the re-check schedule to invoke (not running in Lambda?)")
	}
	now := r.now()
	at := now.Add(r.Config.Delay(m.Check)).UTC().Truncate(time.Second)
	if end := m.FailedAt.Add(r.Config.Window).UTC().Truncate(time.Second); at.After(end) {
		// The back-off would pass the window: check once more at its end,
		// if that is still worth it.
		if end.Sub(now) < MinLastCheck {
			res.Outcome, res.Reason = RetryGaveUp, fmt.Sprintf("%s; less than %s is left of MAX_RETRY_WINDOW %s: the stage stays failed for a person to retry", why, MinLastCheck, r.Config.Window)
			return res, nil
		}
		at = end
		why += "; last check, at the end of MAX_RETRY_WINDOW"
	}
	m.DueAt = at
	input, err := json.Marshal(m)
	if err != nil {
		return res, fmt.Errorf("encode recheck: %w", err)
	}
	res.Schedule, res.RunAt = ScheduleName(m), at.Format(time.RFC3339)
	_, err = r.Scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name:                       aws.String(res.Schedule),
		GroupName:                  aws.String(r.Config.ScheduleGroup),
		ScheduleExpression:         aws.String("at(" + at.Format("2006-01-02T15:04:05") + ")"),
		ScheduleExpressionTimezone: aws.String("UTC"),
		FlexibleTimeWindow:         &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		ActionAfterCompletion:      schedtypes.ActionAfterCompletionDelete,
		Description:                aws.String(awsid.Clip(fmt.Sprintf("Re-check AWS Health for %s/%s (check %d)", m.Pipeline, m.Stage, m.Check), 512)),
		Target: &schedtypes.Target{
			Arn:     aws.String(target),
			RoleArn: aws.String(r.Config.SchedulerRoleARN),
			Input:   aws.String(string(input)),
			RetryPolicy: &schedtypes.RetryPolicy{
				MaximumRetryAttempts:     aws.Int32(3),
				MaximumEventAgeInSeconds: aws.Int32(3600),
			},
		},
	})
	var conflict *schedtypes.ConflictException
	switch {
	case errors.As(err, &conflict):
		res.Outcome, res.Reason = RetryDuplicate, "this re-check is scheduled already (a redelivered event or message)"
		return res, nil
	case err != nil:
		return res, fmt.Errorf("schedule re-check %d of %s/%s: %w", m.Check, m.Pipeline, m.Stage, err)
	}
	res.Outcome, res.Reason = RetryScheduled, why
	return res, nil
}
