package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// stageRetryScenario runs pipeline-stage-retry against the fake of AWS
// Health and CodePipeline, with moto's EventBridge Scheduler. Registered
// in scenarios (scenarios.go).
var stageRetryScenario = scenario{
	name:      "pipeline-stage-retry",
	about:     "a stage the gate failed waits for AWS Health, is retried at once on the all-clear (a forged one retries nothing), and its schedule then retries nothing",
	functions: []string{"pipeline-stage-retry"},
	run:       pipelineStageRetry,
}

const (
	retryPipeline    = "web-app"
	retryExecutionID = "0b5c9e2a-7f3d-4e1b-9c8a-6d2e1f0a9b8c"
	retryGroup       = "pipeline-health-retry"
	// sampleHealthARN is the event events/pipeline-stage-retry/health-closed.json closes.
	sampleHealthARN = "arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_7Q2ZK4"
)

func pipelineStageRetry(ctx context.Context, r *runner) error {
	r.note("AWS Health and CodePipeline are the suite's fake; the re-check schedules go to moto's EventBridge Scheduler")
	r.note("(which does not run them: the scenario fires a schedule by invoking the function with its input).")
	f, err := fakehealthgate.Start()
	if err != nil {
		return fmt.Errorf("start the AWS Health and CodePipeline fake: %w", err)
	}
	defer f.Close()
	sched := scheduler.NewFromConfig(r.cfg)
	if _, err := sched.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(retryGroup)}); err != nil {
		return fmt.Errorf("create the schedule group: %w", err)
	}
	fn, err := r.start("pipeline-stage-retry",
		"AWS_ENDPOINT_URL_HEALTH="+f.URL, "AWS_ENDPOINT_URL_CODEPIPELINE="+f.URL,
		"PIPELINES="+retryPipeline, "SCHEDULE_GROUP="+retryGroup,
		"SCHEDULER_ROLE_ARN=arn:aws:iam::"+awstest.DefaultAccount+":role/scheduler-invoke")
	if err != nil {
		return err
	}
	defer fn.Close()

	incident := f.AddEvent(fakehealthgate.Event{ARN: sampleHealthARN, Service: "EC2", Region: "us-east-1", TypeCode: "AWS_EC2_OPERATIONAL_ISSUE"})
	f.PutPipeline(failedGateStage(incident))
	failedAt := time.Now().UTC().Truncate(time.Second)
	stageFailed, err := r.event("pipeline-stage-retry", "stage-failed.json")
	if err != nil {
		return err
	}
	stageFailed = []byte(strings.Replace(string(stageFailed), `"time": "2025-06-02T08:00:05Z"`, `"time": "`+failedAt.Format(time.RFC3339)+`"`, 1))

	r.step("the gate fails web-app's HealthGate stage on an open EC2 issue (stage-failed.json, now)")
	r.note("AWS Health: %s open", incident.ARN)
	res, err := invokeRetry(ctx, r, fn, stageFailed)
	if err != nil {
		return err
	}
	r.check(res.Outcome == healthgate.RetryScheduled && res.Check == 1,
		"re-check 1 scheduled at %s (%s), the fallback", res.RunAt, res.Schedule)
	due, _ := time.Parse(time.RFC3339, res.RunAt)

	allClear, err := r.event("pipeline-stage-retry", "health-closed.json")
	if err != nil {
		return err
	}
	r.step("a forged all-clear while AWS Health still shows the issue open (health-closed.json)")
	res, err = invokeRetry(ctx, r, fn, allClear)
	if err != nil {
		return err
	}
	r.check(res.Outcome == healthgate.RetryStillBlocked && f.Count("CodePipeline.RetryStageExecution") == 0,
		"AWS Health asked again, still open: nothing retried, re-check 1 stays (%s)", res.Reason)

	if err := f.SetEventStatus(incident.ARN, "closed"); err != nil {
		return err
	}
	r.step("the issue closes; AWS Health's all-clear arrives (health-closed.json)")
	res, err = invokeRetry(ctx, r, fn, allClear)
	if err != nil {
		return err
	}
	retriedAt := time.Now().UTC()
	r.check(res.Outcome == healthgate.RetryRetried && f.Count("CodePipeline.RetryStageExecution") == 1,
		"the stage retried at %s, %s after the failure and %s before re-check 1 was due",
		retriedAt.Format(time.RFC3339), retriedAt.Sub(failedAt).Round(time.Second), due.Sub(retriedAt).Round(time.Second))

	r.step("re-check 1's schedule fires anyway (the fallback)")
	input, err := scheduleInput(ctx, sched, 1)
	if err != nil {
		return err
	}
	res, err = invokeRetry(ctx, r, fn, input)
	if err != nil {
		return err
	}
	r.check(res.Outcome == healthgate.RetryDropped && f.Count("CodePipeline.RetryStageExecution") == 1,
		"the retry is on record (%s): nothing retried twice", res.Reason)
	return nil
}

// failedGateStage is web-app with its HealthGate stage failed by the gate
// on e, the message naming it as the gate does.
func failedGateStage(e fakehealthgate.Event) fakehealthgate.Pipeline {
	gate := fakehealthgate.Action{
		Name: "CheckAWSHealth", Category: "Invoke", Provider: "Lambda",
		Configuration: map[string]string{"FunctionName": "pipeline-health-gate", "UserParameters": `{"regions":["us-east-1"],"services":["EC2","RDS"]}`},
		Status:        "Failed", ErrorCode: "JobFailed",
		ErrorMessage: healthgate.BlockedPrefix + ": 1 open issue event in us-east-1, global for EC2, RDS.\n- EC2 in us-east-1: " + e.TypeCode + " (" + e.ARN + ")",
	}
	return fakehealthgate.Pipeline{Name: retryPipeline, Stages: []fakehealthgate.Stage{
		{Name: "Source", ExecutionID: retryExecutionID, Status: "Succeeded", Actions: []fakehealthgate.Action{{Name: "Source", Category: "Source", Provider: "S3", Status: "Succeeded"}}},
		{Name: "HealthGate", ExecutionID: retryExecutionID, Status: "Failed", Actions: []fakehealthgate.Action{gate}},
		{Name: "Deploy", Actions: []fakehealthgate.Action{{Name: "Deploy", Category: "Deploy", Provider: "S3"}}},
	}}
}

// invokeRetry invokes pipeline-stage-retry and returns its result.
func invokeRetry(ctx context.Context, r *runner, fn *runtimeapi.Function, payload []byte) (healthgate.RetryResult, error) {
	res, err := fn.Invoke(ctx, payload, invokeTimeout)
	r.result(res)
	if err != nil {
		return healthgate.RetryResult{}, err
	}
	if res.FunctionError != nil {
		return healthgate.RetryResult{}, fmt.Errorf("pipeline-stage-retry failed: %s", res.FunctionError.Message)
	}
	var out healthgate.RetryResult
	if err := json.Unmarshal(res.Payload, &out); err != nil {
		return out, fmt.Errorf("pipeline-stage-retry result: %w", err)
	}
	return out, nil
}

// scheduleInput is the input of the re-check schedule for check n, from
// moto's Scheduler.
func scheduleInput(ctx context.Context, sched *scheduler.Client, n int) ([]byte, error) {
	list, err := sched.ListSchedules(ctx, &scheduler.ListSchedulesInput{GroupName: aws.String(retryGroup)})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	for _, s := range list.Schedules {
		got, err := sched.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: s.Name, GroupName: aws.String(retryGroup)})
		if err != nil {
			return nil, fmt.Errorf("get schedule %s: %w", aws.ToString(s.Name), err)
		}
		var m healthgate.Recheck
		if json.Unmarshal([]byte(aws.ToString(got.Target.Input)), &m) == nil && m.Check == n {
			return []byte(aws.ToString(got.Target.Input)), nil
		}
	}
	return nil, fmt.Errorf("no schedule for re-check %d", n)
}
