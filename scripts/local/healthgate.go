package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// healthGateScenario runs pipeline-health-gate against the local fake of
// AWS Health and CodePipeline. Register it in scenarios (scenarios.go).
var healthGateScenario = scenario{
	name:      "pipeline-health-gate",
	about:     "the pipeline gate passes, fails naming an open AWS Health incident, waits with a continuation token, and with the organizational view passes while an unrelated account has an open issue",
	functions: []string{"pipeline-health-gate"},
	run:       pipelineHealthGate,
}

func pipelineHealthGate(ctx context.Context, r *runner) error {
	r.note("moto has neither AWS Health nor the CodePipeline job calls: the function's Health and")
	r.note("CodePipeline endpoints are the suite's fake (shared/testkit/fakehealthgate), which speaks their JSON")
	r.note("protocol, filters events as AWS Health does, and records the answer CodePipeline would get.")
	f, err := fakehealthgate.Start()
	if err != nil {
		return fmt.Errorf("start the AWS Health and CodePipeline fake: %w", err)
	}
	defer f.Close()
	fn, err := r.start("pipeline-health-gate",
		"AWS_ENDPOINT_URL_HEALTH="+f.URL, "AWS_ENDPOINT_URL_CODEPIPELINE="+f.URL)
	if err != nil {
		return err
	}
	defer fn.Close()
	g := &gateRun{r: r, fn: fn, fake: f}

	params, err := r.event("pipeline-health-gate", "job-json-params.json")
	if err != nil {
		return err
	}
	r.step("AWS Health shows nothing open (job-json-params.json: us-east-1, services EC2 and RDS)")
	a, err := g.invoke(ctx, params, "11111111-abcd-4111-8abc-111111abcdef", nil)
	if err != nil {
		return err
	}
	r.check(a.Success && a.ContinuationToken == "" && a.OutputVariables["healthy"] == "true",
		"CodePipeline got one success for the event's job, with healthy=%s", a.OutputVariables["healthy"])

	incident := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", TypeCode: "AWS_EC2_OPERATIONAL_ISSUE"})
	f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "eu-west-1"})                    // another Region
	otherService := f.AddEvent(fakehealthgate.Event{Service: "LAMBDA", Region: "us-east-1"}) // another service
	f.AddEvent(fakehealthgate.Event{Service: "RDS", Region: "us-east-1", Status: "closed"})  // over
	r.step("an EC2 issue opens in us-east-1 (and others the pipeline does not care about)")
	r.note("AWS Health: %s", incident.ARN)
	a, err = g.invoke(ctx, params, "66666666-abcd-4666-8abc-666666abcdef", nil)
	if err != nil {
		return err
	}
	r.check(!a.Success && strings.Contains(a.Message, incident.ARN) && strings.Count(a.Message, "\n- ") == 1,
		"CodePipeline got one failure naming the incident, and only it")

	waiting, err := r.event("pipeline-health-gate", "job-continuation.json")
	if err != nil {
		return err
	}
	if err := f.SetEventStatus(otherService.ARN, "closed"); err != nil {
		return err
	}
	r.step("a pipeline in wait mode, every service (job-continuation.json without its token; maxWait 2h)")
	r.note("(the Lambda issue has closed; the EC2 one is still open)")
	noToken := ""
	a, err = g.invoke(ctx, waiting, "77777777-abcd-4777-8abc-777777abcdef", &noToken)
	if err != nil {
		return err
	}
	tok, tokErr := healthgate.ParseToken(a.ContinuationToken, a.At)
	r.check(a.Success && tokErr == nil && tok.Attempt == 1,
		"CodePipeline got a success with a continuation token (%s): the action stays in progress", a.ContinuationToken)

	if err := f.SetEventStatus(incident.ARN, "closed"); err != nil {
		return err
	}
	r.step("the incident closes; CodePipeline invokes the gate again with the token")
	token := a.ContinuationToken
	a, err = g.invoke(ctx, waiting, "88888888-abcd-4888-8abc-888888abcdef", &token)
	if err != nil {
		return err
	}
	r.check(a.Success && a.ContinuationToken == "", "CodePipeline got a plain success: the deployment goes on")

	r.step("AWS Health refuses the account (SubscriptionRequiredException): no Business support plan")
	f.Fail("Health.DescribeEvents", fakehealthgate.APIError{Code: "SubscriptionRequiredException", Message: "The AWS Premium Support Subscription is required to use this service."}, 1)
	a, err = g.invoke(ctx, params, "99999999-abcd-4999-8abc-999999abcdef", nil)
	if err != nil {
		return err
	}
	r.check(!a.Success && strings.Contains(a.Message, "onHealthError"),
		"CodePipeline got one failure saying what happened and what to do")
	return organizationGate(ctx, r, f, params)
}

// organizationGate runs the gate with the organizational view and a
// pipeline that deploys to two accounts: an open issue of a third account
// does not stop it; one of its own accounts does, named.
func organizationGate(ctx context.Context, r *runner, f *fakehealthgate.Server, params []byte) error {
	const a, b, c = "111111111111", "222222222222", "333333333333"
	fn, err := r.start("pipeline-health-gate", "ORGANIZATION_VIEW=true",
		"AWS_ENDPOINT_URL_HEALTH="+f.URL, "AWS_ENDPOINT_URL_CODEPIPELINE="+f.URL)
	if err != nil {
		return err
	}
	defer fn.Close()
	g := &gateRun{r: r, fn: fn, fake: f}
	f.ClearEvents()
	scoped, err := setUserParameters(params, `{"regions":["us-east-1"],"services":["EC2"],"accounts":["`+a+`","`+b+`"]}`)
	if err != nil {
		return err
	}
	other := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Accounts: []string{c}})
	r.step("organizational view; the pipeline deploys to accounts %s and %s; an EC2 issue is open in account %s", a, b, c)
	r.note("AWS Health: %s affects %s only", other.ARN, c)
	ans, err := g.invoke(ctx, scoped, "aaaaaaaa-abcd-4aaa-8abc-aaaaaaabcdef", nil)
	if err != nil {
		return err
	}
	r.check(ans.Success, "CodePipeline got one success: an unrelated account's issue does not stop the deployment")

	mine := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Accounts: []string{b, c}})
	r.step("an EC2 issue opens that affects account %s too", b)
	ans, err = g.invoke(ctx, scoped, "bbbbbbbb-abcd-4bbb-8abc-bbbbbbbbcdef", nil)
	if err != nil {
		return err
	}
	r.check(!ans.Success && strings.Contains(ans.Message, mine.ARN) && strings.Contains(ans.Message, "accounts: "+b+",") && !strings.Contains(ans.Message, other.ARN),
		"CodePipeline got one failure naming that issue and account %s, not the other account's", b)
	return nil
}

// setUserParameters returns a job event with its UserParameters replaced.
func setUserParameters(event []byte, params string) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("sample event: %w", err)
	}
	job, _ := ev["CodePipeline.job"].(map[string]any)
	data, _ := job["data"].(map[string]any)
	action, _ := data["actionConfiguration"].(map[string]any)
	cfg, _ := action["configuration"].(map[string]any)
	if cfg == nil {
		return nil, fmt.Errorf("sample event has no actionConfiguration.configuration")
	}
	cfg["UserParameters"] = params
	return json.Marshal(ev)
}

// gateRun invokes the gate and reports what CodePipeline was told.
type gateRun struct {
	r    *runner
	fn   *runtimeapi.Function
	fake *fakehealthgate.Server
}

// invoke sends a job event with jobID (and, when token is not nil, that
// continuation token, "" for none) and returns the one answer the job got.
func (g *gateRun) invoke(ctx context.Context, event []byte, jobID string, token *string) (fakehealthgate.Answer, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return fakehealthgate.Answer{}, fmt.Errorf("sample event: %w", err)
	}
	job := ev["CodePipeline.job"].(map[string]any)
	job["id"] = jobID
	if token != nil {
		data := job["data"].(map[string]any)
		if *token == "" {
			delete(data, "continuationToken")
		} else {
			data["continuationToken"] = *token
		}
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		return fakehealthgate.Answer{}, err
	}
	before := g.fake.Count("Health.DescribeEvents")
	res, err := g.fn.Invoke(ctx, payload, invokeTimeout)
	g.r.result(res)
	if err != nil {
		return fakehealthgate.Answer{}, err
	}
	g.r.note("Health       %d DescribeEvents call(s)", g.fake.Count("Health.DescribeEvents")-before)
	// Count the calls, not only the accepted answers: the fake refuses a
	// second answer for the same job and would hide it.
	if calls := g.fake.AnswerCalls(jobID); len(calls) != 1 {
		return fakehealthgate.Answer{}, fmt.Errorf("job %s got %d PutJobSuccessResult/PutJobFailureResult calls, want exactly 1", jobID, len(calls))
	}
	answers := g.fake.AnswersFor(jobID)
	if len(answers) != 1 {
		return fakehealthgate.Answer{}, fmt.Errorf("job %s got %d answers, want exactly 1", jobID, len(answers))
	}
	a := answers[0]
	switch {
	case a.Success && a.ContinuationToken != "":
		g.r.note("CodePipeline PutJobSuccessResult (in progress) token=%s", a.ContinuationToken)
		g.r.note("             summary: %s", a.Summary)
	case a.Success:
		g.r.note("CodePipeline PutJobSuccessResult outputVariables=%v", a.OutputVariables)
		g.r.note("             summary: %s", a.Summary)
	default:
		g.r.note("CodePipeline PutJobFailureResult type=%s", a.FailureType)
		for _, line := range strings.Split(a.Message, "\n") {
			g.r.note("             %s", line)
		}
	}
	return a, nil
}
