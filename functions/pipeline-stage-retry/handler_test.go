package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// What the sample events name.
const (
	pipeline    = "web-app"
	stage       = "HealthGate"
	executionID = "0b5c9e2a-7f3d-4e1b-9c8a-6d2e1f0a9b8c"
	group       = "pipeline-health-retry"
	functionARN = "arn:aws:lambda:us-east-1:123456789012:function:pipeline-stage-retry"
	gateParams  = `{"regions":["us-east-1"],"services":["EC2","RDS"],"mode":"fail"}`
)

// failedAt is the sample stage-failed event's time; the tests' clock runs
// from there.
var failedAt = time.Date(2025, 6, 2, 8, 0, 5, 0, time.UTC)

func sample(t *testing.T, name string) json.RawMessage {
	t.Helper()
	return samples.Bytes(t, "pipeline-stage-retry", name)
}

// The template whose role the function's clients run under, the
// function's logical ID in it, and the names the tests give the
// template's resources.
const (
	template      = "health-gate.yaml"
	function      = "PipelineStageRetryFunction"
	schedulerRole = "scheduler-invoke"           // PipelineStageRetrySchedulerRole
	notifyTopic   = "lambda-suite-notifications" // HealthGateNotifyTopic
)

type fixture struct {
	fake      *fakehealthgate.Server
	scheduler *scheduler.Client // the test's own view of the account
	motoCfg   aws.Config        // the account's configuration (its admin)
	// roleCfg is the function's role, as infra/sam writes it, in front of
	// moto; pipelineCfg is the same role with the fake's transport and
	// retryer, for AWS Health and CodePipeline (which the layer routes to
	// the fake).
	roleCfg, pipelineCfg aws.Config
	role                 *iam.Function
	h                    *handler
	now                  time.Time
}

// newFixture has web-app's HealthGate stage failed by the gate, in the
// fake, and an empty schedule group in a fresh moto account.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := fakehealthgate.New(t)
	f.PutPipeline(webApp("Failed", healthgate.BlockedPrefix+": 1 open issue event in us-east-1, global for EC2, RDS."))

	motoCfg, acct := awstest.Moto(t).Config(t)
	sched := scheduler.NewFromConfig(motoCfg)
	if _, err := sched.CreateScheduleGroup(context.Background(), &scheduler.CreateScheduleGroupInput{Name: aws.String(group)}); err != nil {
		t.Fatalf("CreateScheduleGroup: %v", err)
	}
	role := iam.As(t, motoCfg, acct, template, function, iam.Options{
		Names: map[string]string{
			"PipelineStageRetryScheduleGroup": group,
			"PipelineStageRetrySchedulerRole": schedulerRole,
			"HealthGateNotifyTopic":           notifyTopic,
		},
		Parameters: map[string]string{"HealthGatePipelines": pipeline},
		Routes:     map[string]string{"health": f.URL, "codepipeline": f.URL},
	})
	pipelineCfg := role.Config.Copy()
	fakeCfg := f.AWSConfig()
	pipelineCfg.HTTPClient, pipelineCfg.Retryer = fakeCfg.HTTPClient, fakeCfg.Retryer

	fx := &fixture{fake: f, scheduler: sched, motoCfg: motoCfg, roleCfg: role.Config, pipelineCfg: pipelineCfg, role: role, now: failedAt.Add(5 * time.Second)}
	fx.h = &handler{
		log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		retrier: &healthgate.Retrier{
			Config: healthgate.RetryConfig{
				Pipelines: []string{pipeline}, Region: "us-east-1",
				DefaultCheck: healthgate.DefaultParams("us-east-1"),
				FirstDelay:   2 * time.Minute, MaxDelay: 15 * time.Minute, Window: 6 * time.Hour,
				ScheduleGroup: group, SchedulerRoleARN: "arn:aws:iam::" + acct + ":role/" + schedulerRole,
			},
			CodePipeline: codepipeline.NewFromConfig(pipelineCfg),
			Health:       health.NewFromConfig(pipelineCfg),
			Scheduler:    scheduler.NewFromConfig(role.Config),
			Log:          slog.New(slog.NewJSONHandler(io.Discard, nil)),
			Now:          func() time.Time { return fx.now },
		},
	}
	return fx
}

// notifier makes the notification topic in the fixture's account (as its
// admin), gives the function a Notifier publishing to it under its role,
// and returns an inbox subscribed to it.
func (fx *fixture) notifier(t *testing.T) *approvaltest.Inbox {
	t.Helper()
	admin := sns.NewFromConfig(fx.motoCfg)
	topic := approvaltest.CreateTopic(t, admin, notifyTopic)
	fx.h.notify = &notify.Notifier{SNS: sns.NewFromConfig(fx.roleCfg), TopicARN: topic, Log: fx.h.log}
	return approvaltest.NewInbox(t, admin, sqs.NewFromConfig(fx.motoCfg), topic)
}

// webApp is the sample pipeline with its gate stage in status, the gate's
// action failed with message (when status is Failed).
func webApp(status, message string) fakehealthgate.Pipeline {
	gate := fakehealthgate.Action{
		Name: "CheckAWSHealth", Category: "Invoke", Provider: "Lambda",
		Configuration: map[string]string{"FunctionName": "pipeline-health-gate", "UserParameters": gateParams},
		Status:        "Succeeded",
	}
	if status == "Failed" {
		gate.Status, gate.ErrorCode, gate.ErrorMessage = "Failed", "JobFailed", message
	}
	return fakehealthgate.Pipeline{Name: pipeline, Stages: []fakehealthgate.Stage{
		{Name: "Source", ExecutionID: executionID, Status: "Succeeded", Actions: []fakehealthgate.Action{{Name: "Source", Category: "Source", Provider: "S3", Status: "Succeeded"}}},
		{Name: stage, ExecutionID: executionID, Status: status, Actions: []fakehealthgate.Action{gate}},
		{Name: "Deploy", Actions: []fakehealthgate.Action{{Name: "Deploy", Category: "Deploy", Provider: "S3"}}},
	}}
}

func (fx *fixture) handle(t *testing.T, payload json.RawMessage) healthgate.RetryResult {
	t.Helper()
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "test", InvokedFunctionArn: functionARN})
	res, err := fx.h.Handle(ctx, payload)
	if err != nil {
		t.Fatalf("Handle = %+v, %v, want no error", res, err)
	}
	return res
}

// schedules lists the re-check schedules in the account, by name.
func (fx *fixture) schedules(t *testing.T) map[string]*scheduler.GetScheduleOutput {
	t.Helper()
	ctx := context.Background()
	list, err := fx.scheduler.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String(group)})
	if err != nil {
		t.Fatalf("ListSchedules: %v", err)
	}
	out := map[string]*scheduler.GetScheduleOutput{}
	for _, s := range list.Schedules {
		got, err := fx.scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: s.Name, GroupName: aws.String(group)})
		if err != nil {
			t.Fatalf("GetSchedule(%s): %v", aws.ToString(s.Name), err)
		}
		out[aws.ToString(s.Name)] = got
	}
	return out
}

// fire runs the re-check schedule for check n as EventBridge Scheduler
// would: the function invoked with the schedule's input.
func (fx *fixture) fire(t *testing.T, n int) healthgate.RetryResult {
	t.Helper()
	for _, s := range fx.schedules(t) {
		var m healthgate.Recheck
		if err := json.Unmarshal([]byte(aws.ToString(s.Target.Input)), &m); err != nil {
			t.Fatalf("schedule %s input: %v", aws.ToString(s.Name), err)
		}
		if m.Check == n {
			return fx.handle(t, json.RawMessage(aws.ToString(s.Target.Input)))
		}
	}
	t.Fatalf("no schedule for check %d (have %v)", n, keys(fx.schedules(t)))
	return healthgate.RetryResult{}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestGateFailureThenHealthyRetriesFailedActionsOnce(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	res := fx.handle(t, sample(t, "stage-failed.json"))
	if res.Outcome != healthgate.RetryScheduled {
		t.Fatalf("Handle(stage failed) = %+v, want scheduled", res)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
		t.Errorf("RetryStageExecution calls before the re-check = %d, want 0", n)
	}

	// The schedule is one-time, two minutes on, invokes the function with
	// the scheduler role, and deletes itself afterwards.
	scheds := fx.schedules(t)
	if len(scheds) != 1 {
		t.Fatalf("schedules = %v, want 1", keys(scheds))
	}
	s := scheds[res.Schedule]
	if s == nil {
		t.Fatalf("schedule %s not found (have %v)", res.Schedule, keys(scheds))
	}
	want := "at(" + fx.now.Add(2*time.Minute).Format("2006-01-02T15:04:05") + ")"
	if got := aws.ToString(s.ScheduleExpression); got != want {
		t.Errorf("schedule expression = %s, want %s", got, want)
	}
	if aws.ToString(s.Target.Arn) != functionARN || !strings.HasSuffix(aws.ToString(s.Target.RoleArn), "role/scheduler-invoke") || s.ActionAfterCompletion != "DELETE" {
		t.Errorf("schedule target %s role %s after %s, want the function, the scheduler role, DELETE",
			aws.ToString(s.Target.Arn), aws.ToString(s.Target.RoleArn), s.ActionAfterCompletion)
	}

	fx.now = fx.now.Add(2 * time.Minute)
	res = fx.fire(t, 1)
	if res.Outcome != healthgate.RetryRetried {
		t.Fatalf("Handle(re-check, healthy) = %+v, want retried", res)
	}
	calls := fx.fake.Calls("CodePipeline.RetryStageExecution")
	if len(calls) != 1 {
		t.Fatalf("RetryStageExecution calls = %d, want 1", len(calls))
	}
	var got map[string]string
	if err := json.Unmarshal(calls[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	wantBody := map[string]string{"pipelineName": pipeline, "stageName": stage, "pipelineExecutionId": executionID, "retryMode": "FAILED_ACTIONS"}
	if diff := cmp.Diff(wantBody, got); diff != "" {
		t.Errorf("RetryStageExecution request (-want +got):\n%s", diff)
	}

	// The re-check asked AWS Health what the gate's own UserParameters ask.
	var req struct {
		Filter map[string][]string `json:"filter"`
	}
	if err := json.Unmarshal(fx.fake.Calls("Health.DescribeEvents")[0].Body, &req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"EC2", "RDS"}, req.Filter["services"]); diff != "" {
		t.Errorf("services re-checked (-want +got):\n%s", diff)
	}
	p, _ := fx.fake.Pipeline(pipeline)
	if st := p.Stages[1]; st.Status != "InProgress" || st.Actions[0].Status != "InProgress" {
		t.Errorf("stage after the retry = %s, action %s, want both InProgress", st.Status, st.Actions[0].Status)
	}
}

func TestStillUnhealthySchedulesAnotherCheck(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"})
	fx.handle(t, sample(t, "stage-failed.json"))

	fx.now = fx.now.Add(2 * time.Minute)
	res := fx.fire(t, 1)
	if res.Outcome != healthgate.RetryScheduled || res.Check != 2 || !strings.Contains(res.Reason, "AWS_EC2_OPERATIONAL_ISSUE") {
		t.Fatalf("Handle(re-check, unhealthy) = %+v, want check 2 scheduled, naming the event", res)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
		t.Errorf("RetryStageExecution calls = %d, want 0 while unhealthy", n)
	}
	// Back-off: the second wait is twice the first.
	s := fx.schedules(t)[res.Schedule]
	if want := "at(" + fx.now.Add(4*time.Minute).Format("2006-01-02T15:04:05") + ")"; s == nil || aws.ToString(s.ScheduleExpression) != want {
		t.Errorf("check 2 schedule = %v, want %s", s, want)
	}
}

func TestRedeliveriesRetryOnce(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	first := fx.handle(t, sample(t, "stage-failed.json"))
	again := fx.handle(t, sample(t, "stage-failed.json"))
	if first.Outcome != healthgate.RetryScheduled || again.Outcome != healthgate.RetryDuplicate {
		t.Fatalf("outcomes = %s, %s, want scheduled then duplicate", first.Outcome, again.Outcome)
	}
	if n := len(fx.schedules(t)); n != 1 {
		t.Fatalf("schedules = %d, want 1", n)
	}

	fx.now = fx.now.Add(2 * time.Minute)
	retried := fx.fire(t, 1)
	redelivered := fx.fire(t, 1)
	if retried.Outcome != healthgate.RetryRetried || redelivered.Outcome != healthgate.RetryDropped {
		t.Errorf("re-check outcomes = %+v, %+v, want retried then dropped", retried, redelivered)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 1 {
		t.Errorf("RetryStageExecution calls = %d, want 1", n)
	}

	// The retried gate fails again later: it is another failure of the same
	// execution, and a stale message from the first one must not retry it.
	fx.fake.PutPipeline(withRetries(webApp("Failed", healthgate.BlockedPrefix+": again"), 1))
	stale := fx.fire(t, 1)
	if stale.Outcome != healthgate.RetryDropped || !strings.Contains(stale.Reason, "retried since") {
		t.Errorf("stale re-check = %+v, want dropped as retried since", stale)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 1 {
		t.Errorf("RetryStageExecution calls = %d, want still 1", n)
	}
}

func withRetries(p fakehealthgate.Pipeline, n int) fakehealthgate.Pipeline {
	p.Stages[1].ManualRetries = n
	return p
}

func TestCodePipelineRefusalsAreLoggedAndDropped(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"NotLatestPipelineExecutionException", "StageNotRetryableException", "ConflictException"} {
		t.Run(code, func(t *testing.T) {
			fx := newFixture(t)
			fx.handle(t, sample(t, "stage-failed.json"))
			fx.fake.Fail("CodePipeline.RetryStageExecution", fakehealthgate.APIError{Code: code, Message: "a newer run took over"}, 0)

			fx.now = fx.now.Add(2 * time.Minute)
			res := fx.fire(t, 1)
			if res.Outcome != healthgate.RetryDropped || !strings.Contains(res.Reason, code) {
				t.Errorf("Handle = %+v, want dropped naming %s", res, code)
			}
			// No loop: no further schedule, one attempt.
			if n := len(fx.schedules(t)); n != 1 {
				t.Errorf("schedules = %d, want still 1", n)
			}
			if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 1 {
				t.Errorf("RetryStageExecution calls = %d, want 1", n)
			}
		})
	}
}

func TestTransientErrorsAskLambdaToRetry(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.fake.Fail("CodePipeline.GetPipelineState", fakehealthgate.APIError{Code: "InternalFailure", Message: "boom", Status: 500}, 0)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{InvokedFunctionArn: functionARN})
	if _, err := fx.h.Handle(ctx, sample(t, "stage-failed.json")); err == nil {
		t.Errorf("Handle = nil error, want one so that Lambda retries")
	}
}

func TestFailuresNotToRetry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		pipeline fakehealthgate.Pipeline
		any      bool
		payload  func(t *testing.T) json.RawMessage
		outcome  string
		reason   string
	}{
		{name: "pipeline not opted in", pipeline: webApp("Failed", healthgate.BlockedPrefix), outcome: healthgate.RetryIgnored, reason: "not opted in",
			payload: func(t *testing.T) json.RawMessage {
				// The pipeline's name in the detail and in the resources' ARN.
				return json.RawMessage(strings.ReplaceAll(strings.ReplaceAll(string(sample(t, "stage-failed.json")), `"web-app"`, `"payments"`), `:web-app"`, `:payments"`))
			}},
		{name: "gate failed on its configuration", pipeline: webApp("Failed", healthgate.InvalidPrefix+": regions"), outcome: healthgate.RetryIgnored, reason: "another reason"},
		{name: "gate could not check AWS Health", pipeline: webApp("Failed", healthgate.HealthErrorPrefix+": throttled"), outcome: healthgate.RetryIgnored, reason: "another reason"},
		{name: "stage succeeded since", pipeline: webApp("Succeeded", ""), outcome: healthgate.RetryDropped, reason: "Succeeded"},
		{name: "newer execution in the stage", outcome: healthgate.RetryDropped, reason: "newer execution",
			pipeline: func() fakehealthgate.Pipeline {
				p := webApp("Failed", healthgate.BlockedPrefix)
				p.Stages[1].ExecutionID = "11111111-2222-4333-8444-555555555555"
				return p
			}()},
		{name: "not a stage event", pipeline: webApp("Failed", healthgate.BlockedPrefix), outcome: healthgate.RetryIgnored, reason: "detail-type",
			payload: func(*testing.T) json.RawMessage {
				return json.RawMessage(`{"source":"aws.codepipeline","detail-type":"CodePipeline Pipeline Execution State Change","detail":{"state":"FAILED"}}`)
			}},
		{name: "stage event not FAILED", pipeline: webApp("Failed", healthgate.BlockedPrefix), outcome: healthgate.RetryIgnored, reason: "state",
			payload: func(t *testing.T) json.RawMessage {
				return json.RawMessage(strings.Replace(string(sample(t, "stage-failed.json")), `"FAILED"`, `"RESUMED"`, 1))
			}},
		{name: "garbage", pipeline: webApp("Failed", healthgate.BlockedPrefix), outcome: healthgate.RetryIgnored, reason: "not a FAILED stage event",
			payload: func(*testing.T) json.RawMessage { return json.RawMessage(`{"detail-type": 42`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			fx.fake.PutPipeline(tt.pipeline)
			payload := sample(t, "stage-failed.json")
			if tt.payload != nil {
				payload = tt.payload(t)
			}
			res := fx.handle(t, payload)
			if res.Outcome != tt.outcome || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("Handle = %+v, want %s with a reason containing %q", res, tt.outcome, tt.reason)
			}
			if n := len(fx.schedules(t)); n != 0 {
				t.Errorf("schedules = %d, want none", n)
			}
		})
	}
}

func TestAnyFailureRetriesOtherActionsWithTheDefaultCheck(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.h.retrier.Config.AnyFailure = true
	fx.fake.PutPipeline(webApp("Failed", "Deployment d-123 failed: instance unhealthy"))
	res := fx.handle(t, sample(t, "stage-failed.json"))
	if res.Outcome != healthgate.RetryScheduled {
		t.Fatalf("Handle = %+v, want scheduled with RETRY_ANY_FAILURE", res)
	}
	fx.now = fx.now.Add(2 * time.Minute)
	if res := fx.fire(t, 1); res.Outcome != healthgate.RetryRetried {
		t.Errorf("re-check = %+v, want retried", res)
	}
	if n := fx.fake.Count("CodePipeline.GetPipeline"); n != 0 {
		t.Errorf("GetPipeline calls = %d, want none: a non-gate action is checked with DEFAULT_CHECK", n)
	}
}

func TestRecheckSampleRetriesWhenHealthy(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.now = failedAt.Add(10 * time.Minute)
	if res := fx.handle(t, sample(t, "recheck.json")); res.Outcome != healthgate.RetryRetried {
		t.Errorf("Handle(recheck.json) = %+v, want retried", res)
	}
}

func TestRetryWindowEnds(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.fake.AddEvent(fakehealthgate.Event{Service: "RDS", Region: "us-east-1"})

	// Past the window: give up without a call.
	fx.now = failedAt.Add(6*time.Hour + time.Minute)
	res := fx.handle(t, sample(t, "recheck.json"))
	if res.Outcome != healthgate.RetryGaveUp || len(fx.fake.Calls("")) != 0 {
		t.Errorf("Handle past the window = %+v (%d calls), want gaveUp with no call", res, len(fx.fake.Calls("")))
	}

	// Still blocked with less than MinLastCheck left: no last check.
	fx.now = failedAt.Add(6*time.Hour - healthgate.MinLastCheck + time.Second)
	res = fx.handle(t, sample(t, "recheck.json"))
	if res.Outcome != healthgate.RetryGaveUp || len(fx.schedules(t)) != 0 {
		t.Errorf("Handle near the window's end = %+v, want gaveUp without a schedule", res)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
		t.Errorf("RetryStageExecution calls = %d, want 0", n)
	}
}

// A stage failure older than MAX_RETRY_WINDOW is skipped before anything
// is read, and the reason says the event is too old.
func TestStaleStageFailureIsSkippedWithoutACall(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.now = failedAt.Add(6*time.Hour + time.Minute)
	res := fx.handle(t, sample(t, "stage-failed.json"))
	if res.Outcome != healthgate.RetryGaveUp {
		t.Errorf("Handle(a failure 6h1m old) = %+v, want gaveUp", res)
	}
	for _, part := range []string{"6h1m0s ago", "older than MAX_RETRY_WINDOW 6h0m0s"} {
		if !strings.Contains(res.Reason, part) {
			t.Errorf("reason %q does not say %q", res.Reason, part)
		}
	}
	if strings.Contains(res.Reason, "is left of") {
		t.Errorf("reason %q speaks of time left in the window", res.Reason)
	}
	if calls := fx.fake.Calls(""); len(calls) != 0 {
		t.Errorf("calls = %v, want none: the pipeline's state is not read for a stale event", calls)
	}
	if n := len(fx.schedules(t)); n != 0 {
		t.Errorf("schedules = %d, want none", n)
	}
}

// healthDeadlines is AWS Health recording the deadline of each call's
// context; unanswered, it fails each call as one that ran out of time.
type healthDeadlines struct {
	healthgate.HealthAPI
	unanswered bool
	seen       []time.Time
}

func (h *healthDeadlines) DescribeEvents(ctx context.Context, in *health.DescribeEventsInput, opts ...func(*health.Options)) (*health.DescribeEventsOutput, error) {
	dl, _ := ctx.Deadline()
	h.seen = append(h.seen, dl)
	if h.unanswered {
		return nil, fmt.Errorf("operation error Health: DescribeEvents: %w", context.DeadlineExceeded)
	}
	return h.HealthAPI.DescribeEvents(ctx, in, opts...)
}

// handleWithin invokes the handler with a deadline timeout away and
// returns the result and that deadline.
func (fx *fixture) handleWithin(t *testing.T, timeout time.Duration, payload json.RawMessage) (healthgate.RetryResult, time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dl, _ := ctx.Deadline()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "test", InvokedFunctionArn: functionARN})
	res, err := fx.h.Handle(ctx, payload)
	if err != nil {
		t.Fatalf("Handle = %+v, %v, want no error", res, err)
	}
	return res, dl
}

// The re-check asks AWS Health on a budget that ends a margin before the
// deadline, scaled to the time given, so that with 10 s, 30 s or 900 s it
// either retries the stage (progress) or, when AWS Health does not answer
// in time, still schedules the next re-check (hand-over).
func TestRecheckWorksWithinEveryDeadline(t *testing.T) {
	t.Parallel()
	for _, timeout := range []time.Duration{10 * time.Second, 30 * time.Second, 900 * time.Second} {
		for _, unanswered := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s unanswered %t", timeout, unanswered), func(t *testing.T) {
				fx := newFixture(t)
				rec := &healthDeadlines{HealthAPI: fx.h.retrier.Health, unanswered: unanswered}
				fx.h.retrier.Health = rec
				fx.now = failedAt.Add(10 * time.Minute)
				res, dl := fx.handleWithin(t, timeout, sample(t, "recheck.json"))
				switch {
				case unanswered && (res.Outcome != healthgate.RetryScheduled || res.Check != 2 || !strings.Contains(res.Reason, "AWS Health could not be checked")):
					t.Errorf("Handle = %+v, want re-check 2 scheduled because AWS Health did not answer", res)
				case !unanswered && res.Outcome != healthgate.RetryRetried:
					t.Errorf("Handle = %+v, want retried", res)
				}
				if len(rec.seen) == 0 {
					t.Fatal("AWS Health was not asked")
				}
				want := deadline.Margin(timeout)
				for _, got := range rec.seen {
					if kept := dl.Sub(got); kept > want || kept < want-100*time.Millisecond {
						t.Errorf("the Health check ends %s before the deadline, want %s", kept, want)
					}
				}
			})
		}
	}
}

// A Health that really does not answer is cut at the budget's end, and the
// next re-check is still scheduled before the deadline.
func TestRecheckHandsOnWhenHealthHangs(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.fake.Delay("Health.DescribeEvents", 20*time.Second)
	fx.now = failedAt.Add(10 * time.Minute)
	// 5 s: the check is cut after 4 s, leaving 1 s to schedule.
	res, dl := fx.handleWithin(t, 5*time.Second, sample(t, "recheck.json"))
	if time.Now().After(dl) {
		t.Errorf("Handle returned after the deadline")
	}
	if res.Outcome != healthgate.RetryScheduled || res.Check != 2 || !strings.Contains(res.Reason, "did not answer") {
		t.Errorf("Handle = %+v, want re-check 2 scheduled because AWS Health did not answer in time", res)
	}
	if n := len(fx.schedules(t)); n != 1 {
		t.Errorf("schedules = %d, want 1", n)
	}
}

func TestLastRecheckRunsAtTheWindowsEnd(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	blocker := fx.fake.AddEvent(fakehealthgate.Event{Service: "RDS", Region: "us-east-1"})
	end := failedAt.Add(6 * time.Hour)

	// Still blocked 3 minutes before the end: the back-off's next check (4
	// minutes on) would land past the window, so the last one runs at its end.
	fx.now = end.Add(-3 * time.Minute)
	res := fx.handle(t, sample(t, "recheck.json"))
	if res.Outcome != healthgate.RetryScheduled || res.Check != 2 || !strings.Contains(res.Reason, "last check") {
		t.Fatalf("Handle 3 minutes before the window's end = %+v, want check 2 scheduled as the last one", res)
	}
	s := fx.schedules(t)[res.Schedule]
	if want := "at(" + end.UTC().Format("2006-01-02T15:04:05") + ")"; s == nil || aws.ToString(s.ScheduleExpression) != want {
		t.Fatalf("last check's schedule = %v, want %s", s, want)
	}

	// EventBridge Scheduler delivers it a minute late, after the incident
	// closed: it still runs, and retries.
	if err := fx.fake.SetEventStatus(blocker.ARN, "closed"); err != nil {
		t.Fatal(err)
	}
	fx.now = end.Add(time.Minute)
	if res := fx.fire(t, 2); res.Outcome != healthgate.RetryRetried {
		t.Errorf("Handle(last check, a minute late, healthy) = %+v, want retried", res)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 1 {
		t.Errorf("RetryStageExecution calls = %d, want 1", n)
	}
}

func TestLastRecheckStillBlockedGivesUp(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	fx.fake.AddEvent(fakehealthgate.Event{Service: "RDS", Region: "us-east-1"})
	end := failedAt.Add(6 * time.Hour)
	fx.now = end.Add(-3 * time.Minute)
	if res := fx.handle(t, sample(t, "recheck.json")); res.Outcome != healthgate.RetryScheduled {
		t.Fatalf("Handle 3 minutes before the window's end = %+v, want scheduled", res)
	}
	fx.now = end
	res := fx.fire(t, 2)
	if res.Outcome != healthgate.RetryGaveUp || len(fx.schedules(t)) != 1 {
		t.Errorf("Handle(last check, still blocked) = %+v (%d schedules), want gaveUp without another schedule", res, len(fx.schedules(t)))
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
		t.Errorf("RetryStageExecution calls = %d, want 0", n)
	}
}
