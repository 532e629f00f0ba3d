package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
)

// The job IDs of the sample events.
const (
	jsonJob         = "11111111-abcd-4111-8abc-111111abcdef"
	commaJob        = "22222222-abcd-4222-8abc-222222abcdef"
	continuationJob = "33333333-abcd-4333-8abc-333333abcdef"
)

// sample reads a sample event from events/pipeline-health-gate.
func sample(t *testing.T, name string) json.RawMessage {
	t.Helper()
	return samples.Bytes(t, "pipeline-health-gate", name)
}

// edit changes a sample's job: its UserParameters, continuation token or ID.
func edit(t *testing.T, ev json.RawMessage, f func(job map[string]any, cfg map[string]any, data map[string]any)) json.RawMessage {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatal(err)
	}
	job := m["CodePipeline.job"].(map[string]any)
	data := job["data"].(map[string]any)
	cfg := data["actionConfiguration"].(map[string]any)["configuration"].(map[string]any)
	f(job, cfg, data)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withParams(t *testing.T, ev json.RawMessage, params string) json.RawMessage {
	return edit(t, ev, func(_, cfg, _ map[string]any) { cfg["UserParameters"] = params })
}

// The template whose role the gate's clients run under, and the gate's
// logical ID in it.
const (
	template = "health-gate.yaml"
	function = "PipelineHealthGateFunction"
	// notifyTopic is the name of the notification topic the tests make
	// (HealthGateNotifyTopic).
	notifyTopic = "lambda-suite-notifications"
)

type fixture struct {
	fake *fakehealthgate.Server
	h    *handler
	// cfg is the account's admin (moto directly), for setup and checks;
	// roleCfg is the gate's role, as infra/sam writes it: AWS Health and
	// CodePipeline reach the fake through the IAM layer.
	cfg, roleCfg aws.Config
}

func newFixture(t *testing.T) fixture { return newViewFixture(t, false) }

// newViewFixture is newFixture with the template's organizational view on
// or off (HealthGateOrganizationView), and the gate's ORGANIZATION_VIEW
// with it: the gate's role as SAM writes it then.
func newViewFixture(t *testing.T, organization bool) fixture {
	t.Helper()
	f := fakehealthgate.New(t)
	cfg, acct := awstest.Moto(t).Config(t)
	role := iam.As(t, cfg, acct, template, function, iam.Options{
		Names:      map[string]string{"HealthGateNotifyTopic": notifyTopic},
		Routes:     map[string]string{"health": f.URL, "codepipeline": f.URL},
		Parameters: map[string]string{"HealthGateOrganizationView": strconv.FormatBool(organization)},
	})
	// The fake's transport and retryer (throttles retried, fast), under the role.
	roleCfg := role.Config.Copy()
	fakeCfg := f.AWSConfig()
	roleCfg.HTTPClient, roleCfg.Retryer = fakeCfg.HTTPClient, fakeCfg.Retryer
	return fixture{fake: f, cfg: cfg, roleCfg: roleCfg, h: &handler{
		gate: &healthgate.Gate{
			Health:       health.NewFromConfig(roleCfg),
			Jobs:         codepipeline.NewFromConfig(roleCfg),
			Region:       "us-east-1",
			Organization: organization,
			Margin:       time.Second,
		},
		log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}}
}

// notifier makes the notification topic in the fixture's account (as its
// admin), gives the gate a Notifier publishing to it under the gate's role,
// and returns an inbox subscribed to it.
func (f fixture) notifier(t *testing.T) *approvaltest.Inbox {
	t.Helper()
	admin := sns.NewFromConfig(f.cfg)
	topic := approvaltest.CreateTopic(t, admin, notifyTopic)
	f.h.notify = &notify.Notifier{SNS: sns.NewFromConfig(f.roleCfg), TopicARN: topic, Log: f.h.log}
	return approvaltest.NewInbox(t, admin, sqs.NewFromConfig(f.cfg), topic)
}

// answer invokes the handler and returns the one answer CodePipeline got
// for jobID, failing the test unless there is exactly one.
func (f fixture) answer(t *testing.T, ev json.RawMessage, jobID string) fakehealthgate.Answer {
	t.Helper()
	return f.answerCtx(t, context.Background(), ev, jobID)
}

func (f fixture) answerCtx(t *testing.T, ctx context.Context, ev json.RawMessage, jobID string) fakehealthgate.Answer {
	t.Helper()
	res, err := f.h.Handle(ctx, ev)
	if err != nil || !res.Answered {
		t.Fatalf("Handle = %+v, %v, want the job answered without error", res, err)
	}
	// Count the calls, not only the answers the fake accepted: it refuses
	// a second answer for the same job and would hide it.
	if calls := f.fake.AnswerCalls(jobID); len(calls) != 1 {
		t.Fatalf("PutJobSuccessResult/PutJobFailureResult calls for job %s = %d (%s), want exactly 1", jobID, len(calls), callList(calls))
	}
	if calls := f.fake.AnswerCalls(""); len(calls) != 1 {
		t.Fatalf("PutJobSuccessResult/PutJobFailureResult calls in all = %d (%s), want only the one for %s", len(calls), callList(calls), jobID)
	}
	answers := f.fake.AnswersFor(jobID)
	if len(answers) != 1 {
		t.Fatalf("answers for job %s = %d (%+v), want exactly 1", jobID, len(answers), answers)
	}
	if all := f.fake.Answers(); len(all) != 1 {
		t.Fatalf("answers in all = %d (%+v), want only the one for %s", len(all), all, jobID)
	}
	return answers[0]
}

// callList names calls by operation and the error the fake answered.
func callList(calls []fakehealthgate.Call) string {
	names := make([]string, len(calls))
	for i, c := range calls {
		names[i] = c.Op
		if c.Error != "" {
			names[i] += " (refused: " + c.Error + ")"
		}
	}
	return strings.Join(names, ", ")
}

func TestNoEventsPassesWithTheJobsID(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.answer(t, sample(t, "job-json-params.json"), jsonJob)
	if !a.Success || a.ContinuationToken != "" {
		t.Fatalf("answer = %+v, want a plain success", a)
	}
	wantVars := map[string]string{"healthy": "true", "checkedRegions": "us-east-1,global"}
	for k, v := range wantVars {
		if a.OutputVariables[k] != v {
			t.Errorf("output variable %s = %q, want %q (all %v)", k, a.OutputVariables[k], v, a.OutputVariables)
		}
	}
	if !strings.Contains(a.Summary, "no open issue events in us-east-1, global for EC2, RDS") {
		t.Errorf("summary = %q, want it to say what was checked", a.Summary)
	}

	// The check asked AWS Health for exactly what UserParameters says.
	calls := f.fake.Calls("Health.DescribeEvents")
	if len(calls) != 1 {
		t.Fatalf("DescribeEvents calls = %d, want 1", len(calls))
	}
	var req struct {
		Filter map[string][]string `json:"filter"`
	}
	if err := json.Unmarshal(calls[0].Body, &req); err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"regions": {"us-east-1", "global"}, "services": {"EC2", "RDS"},
		"eventStatusCodes": {"open"}, "eventTypeCategories": {"issue"},
	}
	if diff := cmp.Diff(want, req.Filter); diff != "" {
		t.Errorf("DescribeEvents filter (-want +got):\n%s", diff)
	}
}

func TestWhichEventsBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		sample    string
		event     fakehealthgate.Event
		wantBlock bool
	}{
		{name: "open issue in the gated Region", sample: "job-json-params.json",
			event: fakehealthgate.Event{Service: "EC2", Region: "us-east-1"}, wantBlock: true},
		{name: "open issue in another Region only", sample: "job-json-params.json",
			event: fakehealthgate.Event{Service: "EC2", Region: "eu-west-1"}},
		{name: "closed issue", sample: "job-json-params.json",
			event: fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Status: "closed"}},
		{name: "upcoming issue", sample: "job-json-params.json",
			event: fakehealthgate.Event{Service: "RDS", Region: "us-east-1", Status: "upcoming"}},
		{name: "service outside services", sample: "job-json-params.json",
			event: fakehealthgate.Event{Service: "LAMBDA", Region: "us-east-1"}},
		{name: "scheduled change, not an issue", sample: "job-json-params.json",
			event: fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Category: "scheduledChange", TypeCode: "AWS_EC2_SYSTEM_MAINTENANCE_EVENT"}},
		{name: "global event", sample: "job-comma-regions.json",
			event: fakehealthgate.Event{Service: "IAM", Region: "global"}, wantBlock: true},
		{name: "comma form, second Region", sample: "job-comma-regions.json",
			event: fakehealthgate.Event{Service: "S3", Region: "eu-west-1"}, wantBlock: true},
		{name: "comma form, Region not listed", sample: "job-comma-regions.json",
			event: fakehealthgate.Event{Service: "S3", Region: "ap-south-1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ev := f.fake.AddEvent(tt.event)
			jobID := jsonJob
			if tt.sample == "job-comma-regions.json" {
				jobID = commaJob
			}
			a := f.answer(t, sample(t, tt.sample), jobID)
			if !tt.wantBlock {
				if !a.Success {
					t.Errorf("answer = failure %q, want success", a.Message)
				}
				return
			}
			if a.Success || a.FailureType != "JobFailed" {
				t.Fatalf("answer = %+v, want a JobFailed failure", a)
			}
			for _, part := range []string{healthgate.BlockedPrefix, ev.Service, ev.Region, ev.TypeCode, ev.ARN} {
				if !strings.Contains(a.Message, part) {
					t.Errorf("failure message %q does not name %q", a.Message, part)
				}
			}
		})
	}
}

func TestCommaFormChecksEachRegion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.answer(t, sample(t, "job-comma-regions.json"), commaJob)
	var req struct {
		Filter struct {
			Regions  []string `json:"regions"`
			Services []string `json:"services"`
		} `json:"filter"`
	}
	if err := json.Unmarshal(f.fake.Calls("Health.DescribeEvents")[0].Body, &req); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"us-east-1", "eu-west-1", "global"}, req.Filter.Regions); diff != "" {
		t.Errorf("regions asked (-want +got):\n%s", diff)
	}
	if req.Filter.Services != nil {
		t.Errorf("services asked = %v, want none (every service)", req.Filter.Services)
	}
}

func TestEmptyParamsGateTheFunctionsRegion(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.h.gate.Region = "eu-central-1"
	blocker := f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "eu-central-1"})
	a := f.answer(t, withParams(t, sample(t, "job-json-params.json"), "  "), jsonJob)
	if a.Success || !strings.Contains(a.Message, blocker.ARN) {
		t.Errorf("answer = %+v, want a failure naming %s", a, blocker.ARN)
	}
}

func TestInvalidUserParametersFailNamingTheProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params string
		want   []string
	}{
		{"not JSON", `{"regions": ["us-east-1"`, []string{"not valid JSON"}},
		{"bad Region", `{"regions":["us-east1"]}`, []string{"regions", `"us-east1"`}},
		{"bad Region in comma form", `us-east-1, Europe`, []string{"Regions", `"europe"`}},
		{"unknown field", `{"region":"us-east-1"}`, []string{"region: unknown field"}},
		{"bad mode", `{"mode":"sometimes"}`, []string{"mode", "sometimes"}},
		{"bad maxWait", `{"mode":"wait","maxWait":"2 hours"}`, []string{"maxWait", "2 hours"}},
		{"maxWait beyond CodePipeline's 24 hours", `{"mode":"wait","maxWait":"30h"}`, []string{"maxWait", "24 hours"}},
		{"bad category", `{"eventTypeCategories":["outage"]}`, []string{"eventTypeCategories", "outage"}},
		{"bad onHealthError", `{"onHealthError":"ignore"}`, []string{"onHealthError", "ignore"}},
		{"services not a list", `{"services":"EC2"}`, []string{"services"}},
		{"every problem at once", `{"mode":"x","onHealthError":"y"}`, []string{"mode", "onHealthError"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.answer(t, withParams(t, sample(t, "job-json-params.json"), tt.params), jsonJob)
			if a.Success || a.FailureType != "ConfigurationError" || !strings.HasPrefix(a.Message, healthgate.InvalidPrefix) {
				t.Fatalf("answer = %+v, want a ConfigurationError failure", a)
			}
			for _, part := range tt.want {
				if !strings.Contains(a.Message, part) {
					t.Errorf("failure message %q does not name %q", a.Message, part)
				}
			}
			if n := f.fake.Count("Health.DescribeEvents"); n != 0 {
				t.Errorf("DescribeEvents calls = %d, want none for invalid parameters", n)
			}
		})
	}
}

func TestHealthErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		inject      fakehealthgate.APIError
		params      string
		wantSuccess bool
		want        []string
		wantCalls   int
	}{
		{name: "no support plan fails by default", inject: fakehealthgate.APIError{Code: "SubscriptionRequiredException", Message: "The AWS Premium Support Subscription is required to use this service."},
			params: `{"regions":["us-east-1"]}`, want: []string{healthgate.HealthErrorPrefix, "SubscriptionRequiredException", "Business", `"onHealthError": "pass"`}, wantCalls: 1},
		{name: "no support plan passes with onHealthError pass", inject: fakehealthgate.APIError{Code: "SubscriptionRequiredException", Message: "The AWS Premium Support Subscription is required to use this service."},
			params: `{"regions":["us-east-1"],"onHealthError":"pass"}`, wantSuccess: true, want: []string{"SubscriptionRequiredException", `onHealthError is "pass"`}, wantCalls: 1},
		{name: "throttled on every attempt", inject: fakehealthgate.APIError{Code: "ThrottlingException", Message: "Rate exceeded"},
			params: `{"regions":["us-east-1"]}`, want: []string{"throttled", "after 3 attempts"}, wantCalls: 3},
		{name: "access denied", inject: fakehealthgate.APIError{Code: "AccessDeniedException", Message: "not authorized to perform: health:DescribeEvents"},
			params: `{"regions":["us-east-1"]}`, want: []string{"health:DescribeEvents", "AccessDeniedException"}, wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.fake.Fail("Health.DescribeEvents", tt.inject, 0)
			a := f.answer(t, withParams(t, sample(t, "job-json-params.json"), tt.params), jsonJob)
			text := a.Message
			if a.Success {
				text = a.Summary
			}
			if a.Success != tt.wantSuccess {
				t.Fatalf("answer success = %v (%q), want %v", a.Success, text, tt.wantSuccess)
			}
			for _, part := range tt.want {
				if !strings.Contains(text, part) {
					t.Errorf("answer %q does not say %q", text, part)
				}
			}
			if tt.wantSuccess && a.OutputVariables["healthy"] != "unknown" {
				t.Errorf("output healthy = %q, want unknown", a.OutputVariables["healthy"])
			}
			if n := f.fake.Count("Health.DescribeEvents"); n != tt.wantCalls {
				t.Errorf("DescribeEvents calls = %d, want %d", n, tt.wantCalls)
			}
		})
	}
}

func TestWaitModeContinuesUntilHealthy(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	start := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	f.h.gate.Now = func() time.Time { return start }
	blocker := f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"})
	first := edit(t, sample(t, "job-continuation.json"), func(_, _, data map[string]any) { delete(data, "continuationToken") })

	a := f.answer(t, first, continuationJob)
	if !a.Success || a.ContinuationToken == "" || len(a.OutputVariables) != 0 {
		t.Fatalf("answer while blocked = %+v, want a success with a continuation token and no output variables", a)
	}
	tok, err := healthgate.ParseToken(a.ContinuationToken, start)
	if err != nil || !tok.StartedAt.Equal(start) || tok.Attempt != 1 {
		t.Fatalf("continuation token %q = %+v, %v, want started %s, attempt 1", a.ContinuationToken, tok, err, start)
	}
	if !strings.Contains(a.Summary, blocker.ARN) {
		t.Errorf("summary %q does not name the blocking event", a.Summary)
	}

	// CodePipeline invokes the gate again, as a new job with the token.
	f.fake.ResetCalls()
	f.h.gate.Now = func() time.Time { return start.Add(20 * time.Minute) }
	second := edit(t, sample(t, "job-continuation.json"), func(job, _, data map[string]any) {
		job["id"] = "44444444-abcd-4444-8abc-444444abcdef"
		data["continuationToken"] = a.ContinuationToken
	})
	a = f.answer(t, second, "44444444-abcd-4444-8abc-444444abcdef")
	tok, err = healthgate.ParseToken(a.ContinuationToken, start)
	if !a.Success || err != nil || !tok.StartedAt.Equal(start) || tok.Attempt != 2 {
		t.Fatalf("answer still blocked = %+v (token %+v, %v), want a success carrying start %s and attempt 2", a, tok, err, start)
	}

	// The incident closes: the next invocation is a plain success.
	if err := f.fake.SetEventStatus(blocker.ARN, "closed"); err != nil {
		t.Fatal(err)
	}
	f.fake.ResetCalls()
	f.h.gate.Now = func() time.Time { return start.Add(40 * time.Minute) }
	third := edit(t, second, func(job, _, data map[string]any) {
		job["id"] = "55555555-abcd-4555-8abc-555555abcdef"
		data["continuationToken"] = a.ContinuationToken
	})
	a = f.answer(t, third, "55555555-abcd-4555-8abc-555555abcdef")
	if !a.Success || a.ContinuationToken != "" || a.OutputVariables["healthy"] != "true" {
		t.Fatalf("answer after the incident = %+v, want a plain success with output variables", a)
	}
	if !strings.Contains(a.Summary, "after waiting 40m0s (3 checks)") {
		t.Errorf("summary = %q, want it to say how long it waited", a.Summary)
	}
}

func TestWaitModePastMaxWaitFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// The sample's token started at 08:00 with maxWait 2h.
	f.h.gate.Now = func() time.Time { return time.Date(2025, 6, 2, 10, 0, 1, 0, time.UTC) }
	blocker := f.fake.AddEvent(fakehealthgate.Event{Service: "RDS", Region: "us-east-1"})
	a := f.answer(t, sample(t, "job-continuation.json"), continuationJob)
	if a.Success {
		t.Fatalf("answer = %+v, want a failure past maxWait", a)
	}
	for _, part := range []string{healthgate.BlockedPrefix + " after waiting 2h0m1s", "4 checks", blocker.ARN} {
		if !strings.Contains(a.Message, part) {
			t.Errorf("failure message %q does not say %q", a.Message, part)
		}
	}
}

// A bad continuation token is not the action's configuration: the message
// names the token and sends nobody to fix correct UserParameters.
func TestBadContinuationTokenFails(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, token, problem string }{
		{"not the gate's", "deployment-42", "not the health gate's"},
		{"start in the future", `{"gate":"aws-health","startedAt":"2999-01-01T00:00:00Z","attempt":1}`, "in the future"},
		{"attempt out of range", `{"gate":"aws-health","startedAt":"2025-06-02T08:00:00Z","attempt":0}`, "attempt 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ev := edit(t, sample(t, "job-continuation.json"), func(_, _, data map[string]any) { data["continuationToken"] = tt.token })
			a := f.answer(t, ev, continuationJob)
			if a.Success || a.FailureType != "JobFailed" || !strings.HasPrefix(a.Message, healthgate.InvalidTokenPrefix) {
				t.Fatalf("answer = %+v, want a JobFailed failure starting %q", a, healthgate.InvalidTokenPrefix)
			}
			for _, part := range []string{tt.problem, "UserParameters are not at fault", "Retry the stage"} {
				if !strings.Contains(a.Message, part) {
					t.Errorf("failure message %q does not say %q", a.Message, part)
				}
			}
			if strings.Contains(a.Message, "fix the action's configuration") || strings.HasPrefix(a.Message, healthgate.InvalidPrefix) {
				t.Errorf("failure message %q blames the action's configuration", a.Message)
			}
			if n := f.fake.Count("Health.DescribeEvents"); n != 0 {
				t.Errorf("DescribeEvents calls = %d, want none for a job that cannot be continued", n)
			}
		})
	}
}

func TestEveryPageIsRead(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.SetPageSize(2)
	var arns []string
	for range 5 {
		arns = append(arns, f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"}).ARN)
	}
	a := f.answer(t, sample(t, "job-json-params.json"), jsonJob)
	if n := f.fake.Count("Health.DescribeEvents"); n != 3 {
		t.Errorf("DescribeEvents calls = %d, want 3 pages of 2", n)
	}
	for _, arn := range arns {
		if !strings.Contains(a.Message, arn) {
			t.Errorf("failure message does not name %s", arn)
		}
	}
}

func TestLongFailureMessageFitsCodePipelinesLimit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for range 150 {
		f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", TypeCode: "AWS_EC2_INSTANCE_CONNECTIVITY_DEGRADED_OPERATIONAL_ISSUE"})
	}
	// The fake refuses a message over 5000 characters, as CodePipeline does.
	a := f.answer(t, sample(t, "job-json-params.json"), jsonJob)
	if n := len([]rune(a.Message)); n > healthgate.MaxMessageLength {
		t.Errorf("message length = %d, want at most %d", n, healthgate.MaxMessageLength)
	}
	if !strings.Contains(a.Message, "more") || !strings.Contains(a.Message, "Retry the stage") {
		t.Errorf("message does not count the events left out or keep its advice:\n%s", a.Message)
	}
}

// panicking is an AWS Health client with a bug.
type panicking struct{ healthgate.HealthAPI }

func (panicking) DescribeEvents(context.Context, *health.DescribeEventsInput, ...func(*health.Options)) (*health.DescribeEventsOutput, error) {
	panic("index out of range")
}

func TestPanicStillAnswersOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		params string
		break_ func(h *handler)
	}{
		{name: "in the Health check", params: `{"onHealthError":"pass"}`, break_: func(h *handler) { h.gate.Health = panicking{} }},
		{name: "in the decision", break_: func(h *handler) { h.gate.Now = func() time.Time { panic("clock broke") } }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			tt.break_(f.h)
			ev := sample(t, "job-continuation.json") // has a token, so now() is used
			if tt.params != "" {
				ev = withParams(t, ev, tt.params)
			}
			a := f.answer(t, ev, continuationJob)
			// A panic fails the job even with onHealthError pass.
			if a.Success || !strings.HasPrefix(a.Message, healthgate.InternalPrefix) || !strings.Contains(a.Message, "panic") {
				t.Errorf("answer = %+v, want a failure saying the gate panicked", a)
			}
		})
	}
}

// panickingLog is a slog handler with a bug: every record panics.
type panickingLog struct{ slog.Handler }

func (panickingLog) Enabled(context.Context, slog.Level) bool { return true }
func (panickingLog) Handle(context.Context, slog.Record) error {
	panic("log handler broke")
}
func (h panickingLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h panickingLog) WithGroup(string) slog.Handler      { return h }

// panickingJobs is a CodePipeline client that panics while answering:
// before the call goes out, or after CodePipeline has taken the answer.
type panickingJobs struct {
	healthgate.JobAPI
	afterCall bool
}

func (p panickingJobs) PutJobSuccessResult(ctx context.Context, in *codepipeline.PutJobSuccessResultInput, opts ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error) {
	if p.afterCall {
		_, _ = p.JobAPI.PutJobSuccessResult(ctx, in, opts...)
	}
	panic("answer client broke")
}

// handleSafely invokes the handler, turning a panic that escapes it into a
// test failure.
func (f fixture) handleSafely(t *testing.T, ev json.RawMessage) (res healthgate.GateResult, err error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("Handle panicked: %v", v)
		}
	}()
	return f.h.Handle(context.Background(), ev)
}

// handleRecovering invokes the handler and returns the panic that escapes
// it, if any: what aws-lambda-go's invoke loop recovers.
func (f fixture) handleRecovering(ev json.RawMessage) (escaped any) {
	defer func() { escaped = recover() }()
	_, _ = f.h.Handle(context.Background(), ev)
	return nil
}

// A panic outside the decision is recovered in Handle too. The answer goes
// out before anything is logged, so a logger that panics on every line
// does not change it, and CodePipeline gets it exactly once; the logger's
// panic on the line about the panic is aws-lambda-go's to recover
// (lambda/invoke_loop.go: the invocation ends in an error, and Lambda's
// retry finds the job answered). One in the answer call makes no second
// call in the invocation (the answer may have landed) and returns an
// error, so that Lambda retries the invocation: CodePipeline refuses any
// answer after the first, so the job still gets exactly one.
func TestPanicOutsideTheDecisionIsRecovered(t *testing.T) {
	t.Parallel()
	t.Run("in logging", func(t *testing.T) {
		f := newFixture(t)
		f.h.log = slog.New(panickingLog{})
		f.handleRecovering(sample(t, "job-json-params.json"))
		if calls := f.fake.AnswerCalls(""); len(calls) != 1 {
			t.Errorf("answer calls = %d (%s), want exactly 1", len(calls), callList(calls))
		}
		if a := f.fake.AnswersFor(jsonJob); len(a) != 1 || !a[0].Success {
			t.Errorf("answers = %+v, want the healthy decision", a)
		}
	})
	t.Run("in logging the Health check's panic", func(t *testing.T) {
		f := newFixture(t)
		f.h.log = slog.New(panickingLog{})
		f.h.gate.Health = panicking{}
		f.handleRecovering(sample(t, "job-json-params.json"))
		if calls := f.fake.AnswerCalls(""); len(calls) != 1 {
			t.Errorf("answer calls = %d (%s), want exactly 1", len(calls), callList(calls))
		}
		if a := f.fake.AnswersFor(jsonJob); len(a) != 1 || a[0].Success || !strings.HasPrefix(a[0].Message, healthgate.InternalPrefix) {
			t.Errorf("answers = %+v, want one failure saying the gate failed", a)
		}
	})
	for _, afterCall := range []bool{false, true} {
		name := map[bool]string{false: "in the answer call, before it went out", true: "in the answer call, after CodePipeline took it"}[afterCall]
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.h.gate.Jobs = panickingJobs{JobAPI: f.h.gate.Jobs, afterCall: afterCall}
			res, err := f.handleSafely(t, sample(t, "job-json-params.json"))
			if err == nil || res.Answered || !strings.Contains(err.Error(), "panic") {
				t.Errorf("Handle = %+v, %v, want an error naming the panic so that Lambda retries", res, err)
			}
			want := 0
			if afterCall {
				want = 1
			}
			if calls := f.fake.AnswerCalls(""); len(calls) != want {
				t.Errorf("answer calls = %d (%s), want %d: no second call after a panic in the first", len(calls), callList(calls), want)
			}
			if afterCall {
				// Lambda's retry of the invocation finds the job answered.
				f.h.gate.Jobs = codepipeline.NewFromConfig(f.roleCfg)
				if res, err := f.handleSafely(t, sample(t, "job-json-params.json")); err != nil || res.Answered {
					t.Errorf("retried Handle = %+v, %v, want the job found closed, no error", res, err)
				}
				if n := len(f.fake.AnswersFor(jsonJob)); n != 1 {
					t.Errorf("answers CodePipeline took = %d, want 1", n)
				}
			}
		})
	}
}

func TestDeadlineStillAnswersOnce(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Delay("Health.DescribeEvents", 20*time.Second) // AWS Health does not answer
	ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
	defer cancel()

	a := f.answerCtx(t, ctx, sample(t, "job-json-params.json"), jsonJob)
	if ctx.Err() != nil {
		t.Errorf("Handle returned after the Lambda deadline")
	}
	if a.Success || !strings.Contains(a.Message, "did not answer in the time the gate had") {
		t.Errorf("answer = %+v, want a failure saying AWS Health did not answer in time", a)
	}
	if d, _ := ctx.Deadline(); time.Until(d) < 500*time.Millisecond {
		t.Errorf("answered %s before the deadline, want about the margin (1s)", time.Until(d))
	}
}

// checkDeadlines is AWS Health as the fake answers it, recording the
// deadline of each call's context.
type checkDeadlines struct {
	healthgate.HealthAPI
	seen []time.Time
}

func (c *checkDeadlines) DescribeEvents(ctx context.Context, in *health.DescribeEventsInput, opts ...func(*health.Options)) (*health.DescribeEventsOutput, error) {
	dl, _ := ctx.Deadline()
	c.seen = append(c.seen, dl)
	return c.HealthAPI.DescribeEvents(ctx, in, opts...)
}

// The check stops a margin before the Lambda deadline that scales with the
// time given (a fifth, at most 30 s) unless DEADLINE_MARGIN sets one; with
// 10 s, 30 s and 900 s the gate checks and answers once, and in wait mode
// hands the wait on to the next invocation with a continuation token.
func TestMarginScalesWithTheDeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		timeout, explicit, kept time.Duration
	}{
		{10 * time.Second, 0, 2 * time.Second},
		{30 * time.Second, 0, 6 * time.Second},
		{900 * time.Second, 0, 30 * time.Second},
		{30 * time.Second, 3 * time.Second, 3 * time.Second},
	}
	for _, tt := range tests {
		for _, blocked := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s margin %s blocked %t", tt.timeout, tt.explicit, blocked), func(t *testing.T) {
				f := newFixture(t)
				f.h.gate.Margin = tt.explicit
				rec := &checkDeadlines{HealthAPI: f.h.gate.Health}
				f.h.gate.Health = rec
				ev := sample(t, "job-json-params.json")
				if blocked {
					f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"})
					ev = withParams(t, ev, `{"regions":["us-east-1"],"mode":"wait"}`)
				}
				ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
				defer cancel()
				dl, _ := ctx.Deadline()
				a := f.answerCtx(t, ctx, ev, jsonJob)
				if want := !blocked; a.Success != true || (a.ContinuationToken == "") != want {
					t.Errorf("answer = %+v, want a success (with a continuation token when blocked)", a)
				}
				if len(rec.seen) == 0 {
					t.Fatal("AWS Health was not asked")
				}
				for _, got := range rec.seen {
					if kept := dl.Sub(got); kept > tt.kept || kept < tt.kept-100*time.Millisecond {
						t.Errorf("the check ends %s before the Lambda deadline, want %s", kept, tt.kept)
					}
				}
			})
		}
	}
}

func TestEventsWithoutAJobAreNotAnswered(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		event string
	}{
		{"garbage", `{"CodePipeline.job": `},
		{"JSON null", `null`},
		{"no id", `{"CodePipeline.job": {"accountId": "123456789012", "data": {}}}`},
		{"another event", `{"source":"aws.ec2","detail-type":"EBS Volume Notification"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			res, err := f.h.Handle(context.Background(), json.RawMessage(tt.event))
			if err != nil || res.Answered || res.Verdict != healthgate.VerdictInvalid {
				t.Errorf("Handle = %+v, %v, want rejected without an answer", res, err)
			}
			if calls := f.fake.Calls(""); len(calls) != 0 {
				t.Errorf("calls = %+v, want none", calls)
			}
		})
	}
}

func TestMalformedJobWithAnIDIsFailed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ev := json.RawMessage(`{"CodePipeline.job": {"id": "` + jsonJob + `", "data": {"continuationToken": 42}}}`)
	a := f.answer(t, ev, jsonJob)
	if a.Success || a.FailureType != "JobFailed" || !strings.HasPrefix(a.Message, healthgate.InvalidEventPrefix) || !strings.Contains(a.Message, "continuationToken") {
		t.Errorf("answer = %+v, want a JobFailed failure saying the event is malformed, and where", a)
	}
	if strings.Contains(a.Message, "UserParameters") && !strings.Contains(a.Message, "UserParameters are not at fault") {
		t.Errorf("failure message %q blames the UserParameters", a.Message)
	}
}

func TestAnswerRefusedIsNotRetried(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Fail("CodePipeline.PutJobSuccessResult", fakehealthgate.APIError{Code: "InvalidJobStateException", Message: "job timed out"}, 1)
	res, err := f.h.Handle(context.Background(), sample(t, "job-json-params.json"))
	if err != nil || res.Answered {
		t.Errorf("Handle = %+v, %v, want no error (a retry cannot help) and not answered", res, err)
	}
	if n := f.fake.Count("CodePipeline.PutJobSuccessResult"); n != 1 {
		t.Errorf("PutJobSuccessResult calls = %d, want 1", n)
	}
}

func TestAnswerFailingTransientlyAsksLambdaToRetry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Fail("CodePipeline.PutJobSuccessResult", fakehealthgate.APIError{Code: "InternalFailure", Message: "boom", Status: 500}, 0)
	if _, err := f.h.Handle(context.Background(), sample(t, "job-json-params.json")); err == nil {
		t.Errorf("Handle = nil error, want one so that Lambda retries the invocation")
	}
}

func TestHealthErrorWhileWaitingKeepsWaiting(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	start := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	f.h.gate.Now = func() time.Time { return start }
	blocker := f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"})
	// onHealthError pass must not let a waiting run through.
	params := `{"regions":["us-east-1"],"mode":"wait","maxWait":"2h","onHealthError":"pass"}`
	first := withParams(t, edit(t, sample(t, "job-continuation.json"), func(_, _, data map[string]any) { delete(data, "continuationToken") }), params)
	a := f.answer(t, first, continuationJob)
	if !a.Success || a.ContinuationToken == "" {
		t.Fatalf("first answer = %+v, want waiting", a)
	}

	// AWS Health stops answering while the gate waits: it keeps waiting.
	f.fake.Fail("Health.DescribeEvents", fakehealthgate.APIError{Code: "SubscriptionRequiredException", Message: "The AWS Premium Support Subscription is required to use this service."}, 0)
	f.fake.ResetCalls()
	f.h.gate.Now = func() time.Time { return start.Add(time.Hour) }
	const secondJob, thirdJob = "44444444-abcd-4444-8abc-444444abcdef", "55555555-abcd-4555-8abc-555555abcdef"
	second := edit(t, first, func(job, _, data map[string]any) {
		job["id"] = secondJob
		data["continuationToken"] = a.ContinuationToken
	})
	a = f.answer(t, second, secondJob)
	tok, err := healthgate.ParseToken(a.ContinuationToken, start.Add(time.Hour))
	if !a.Success || err != nil || tok.Attempt != 2 || a.OutputVariables["healthy"] != "" {
		t.Fatalf("answer on a Health error while waiting = %+v (token %+v, %v), want waiting on (attempt 2), not a pass", a, tok, err)
	}
	if !strings.Contains(a.Summary, "SubscriptionRequiredException") {
		t.Errorf("summary %q does not say what went wrong", a.Summary)
	}

	// Past maxWait, still no answer from AWS Health: a failure naming the
	// last known event and the error.
	f.fake.ResetCalls()
	f.h.gate.Now = func() time.Time { return start.Add(2*time.Hour + time.Second) }
	third := edit(t, second, func(job, _, data map[string]any) {
		job["id"] = thirdJob
		data["continuationToken"] = a.ContinuationToken
	})
	a = f.answer(t, third, thirdJob)
	if a.Success || !strings.HasPrefix(a.Message, healthgate.BlockedPrefix) {
		t.Fatalf("answer past maxWait = %+v, want a blocked failure", a)
	}
	for _, part := range []string{blocker.ARN, "SubscriptionRequiredException", "3 checks"} {
		if !strings.Contains(a.Message, part) {
			t.Errorf("failure message %q does not say %q", a.Message, part)
		}
	}
}

func TestNoTimeToCheckFailsWithoutAsking(t *testing.T) {
	t.Parallel()
	for _, params := range []string{`{"regions":["us-east-1"]}`, `{"regions":["us-east-1"],"onHealthError":"pass"}`} {
		t.Run(params, func(t *testing.T) {
			f := newFixture(t)
			f.h.gate.Margin = 3 * time.Second
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // less than the margin
			defer cancel()
			a := f.answerCtx(t, ctx, withParams(t, sample(t, "job-json-params.json"), params), jsonJob)
			if a.Success || a.FailureType != "ConfigurationError" {
				t.Fatalf("answer = %+v, want a ConfigurationError failure", a)
			}
			for _, part := range []string{"DEADLINE_MARGIN", "3s", "Raise the function's timeout or lower DEADLINE_MARGIN"} {
				if !strings.Contains(a.Message, part) {
					t.Errorf("failure message %q does not say %q", a.Message, part)
				}
			}
			if n := f.fake.Count("Health.DescribeEvents"); n != 0 {
				t.Errorf("DescribeEvents calls = %d, want none without time to check", n)
			}
		})
	}
}

// Without DEADLINE_MARGIN, a timeout too short to check fails the job
// naming the timeout, not a setting nobody made.
func TestTimeoutTooShortToCheckFailsWithoutAsking(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.h.gate.Margin = 0
	ctx, cancel := context.WithTimeout(context.Background(), time.Second) // 800 ms after the margin
	defer cancel()
	a := f.answerCtx(t, ctx, sample(t, "job-json-params.json"), jsonJob)
	if a.Success || a.FailureType != "ConfigurationError" {
		t.Fatalf("answer = %+v, want a ConfigurationError failure", a)
	}
	for _, part := range []string{"timeout is too short", "200ms", "Raise the function's timeout"} {
		if !strings.Contains(a.Message, part) {
			t.Errorf("failure message %q does not say %q", a.Message, part)
		}
	}
	if strings.Contains(a.Message, "DEADLINE_MARGIN") {
		t.Errorf("failure message %q names DEADLINE_MARGIN, which is not set", a.Message)
	}
	if n := f.fake.Count("Health.DescribeEvents"); n != 0 {
		t.Errorf("DescribeEvents calls = %d, want none without time to check", n)
	}
}

// A success CodePipeline refuses for good (a ValidationException) is
// replaced by one short failure, so the job ends at once; the invocation
// still ends in an error naming the job, for the Errors alarm (issue 18).
func TestSuccessRefusedForGoodFallsBackToOneFailure(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.fake.Fail("CodePipeline.PutJobSuccessResult", fakehealthgate.APIError{Code: "ValidationException", Message: "outputVariables failed to satisfy constraint"}, 1)
	res, err := f.h.Handle(context.Background(), sample(t, "job-json-params.json"))
	if !errors.Is(err, healthgate.ErrAnswerRefused) || !strings.Contains(err.Error(), jsonJob) || !strings.Contains(err.Error(), "ValidationException") {
		t.Errorf("Handle error = %v, want CodePipeline's refusal, naming job %s", err, jsonJob)
	}
	if !res.Answered || res.Success || res.Verdict != healthgate.VerdictInternal {
		t.Fatalf("Handle = %+v, want answered with the fallback failure", res)
	}
	if n := f.fake.Count("CodePipeline.PutJobSuccessResult"); n != 1 {
		t.Errorf("PutJobSuccessResult calls = %d, want 1", n)
	}
	if n := f.fake.Count("CodePipeline.PutJobFailureResult"); n != 1 {
		t.Errorf("PutJobFailureResult calls = %d, want 1 (the fallback)", n)
	}
	answers := f.fake.AnswersFor(jsonJob)
	if len(answers) != 1 || answers[0].Success {
		t.Fatalf("answers = %+v, want one failure", answers)
	}
	for _, part := range []string{healthgate.InternalPrefix, "ValidationException", "no open issue events"} {
		if !strings.Contains(answers[0].Message, part) {
			t.Errorf("fallback message %q does not say %q", answers[0].Message, part)
		}
	}
}

// An answer CodePipeline refuses outright (the role may not answer, or the
// request is invalid) ends the invocation in an error naming the job, so
// the job does not hang unseen: the Errors alarm sees every attempt, and
// as each Lambda retry is refused alike, the on-failure queue gets the
// event (issue 18, finding 11).
func TestAnswerRefusedIsAnErrorNamingTheJob(t *testing.T) {
	t.Parallel()
	for _, code := range []string{"AccessDeniedException", "ValidationException"} {
		t.Run(code, func(t *testing.T) {
			f := newFixture(t)
			var out bytes.Buffer
			f.h.metrics = metrics.New("gate-fn", &out)
			f.fake.Fail("CodePipeline.PutJobSuccessResult", fakehealthgate.APIError{Code: code, Message: "no"}, 0)
			f.fake.Fail("CodePipeline.PutJobFailureResult", fakehealthgate.APIError{Code: code, Message: "no either"}, 0)
			for attempt := 1; attempt <= 3; attempt++ { // the first try and Lambda's two retries
				res, err := f.h.Handle(context.Background(), sample(t, "job-json-params.json"))
				if !errors.Is(err, healthgate.ErrAnswerRefused) || !strings.Contains(err.Error(), jsonJob) || !strings.Contains(err.Error(), code) {
					t.Fatalf("attempt %d: Handle error = %v, want CodePipeline's refusal, naming job %s", attempt, err, jsonJob)
				}
				if res.Answered || res.JobID != jsonJob {
					t.Errorf("attempt %d: Handle = %+v, want job %s, not answered", attempt, res, jsonJob)
				}
			}
			if n := len(f.fake.AnswerCalls(jsonJob)); n != 6 {
				t.Errorf("answer calls = %d, want 6: the success and one fallback failure per attempt", n)
			}
			emf.Want(t, out.Bytes(), "gate-fn", map[string]float64{"GateAnswersRefused/" + string(healthgate.VerdictHealthy): 3})
		})
	}
}
