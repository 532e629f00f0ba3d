package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// countedSchedules counts the calls to Scheduler.
type countedSchedules struct {
	healthgate.ScheduleAPI
	n int
}

func (c *countedSchedules) CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	c.n++
	return c.ScheduleAPI.CreateSchedule(ctx, in, opts...)
}

func (c *countedSchedules) ListSchedules(ctx context.Context, in *scheduler.ListSchedulesInput, opts ...func(*scheduler.Options)) (*scheduler.ListSchedulesOutput, error) {
	c.n++
	return c.ScheduleAPI.ListSchedules(ctx, in, opts...)
}

func (c *countedSchedules) GetSchedule(ctx context.Context, in *scheduler.GetScheduleInput, opts ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error) {
	c.n++
	return c.ScheduleAPI.GetSchedule(ctx, in, opts...)
}

// replaceIn returns sample name with each old, new pair replaced once.
func replaceIn(t *testing.T, name string, pairs ...string) json.RawMessage {
	t.Helper()
	return json.RawMessage(awstest.Replace(t, string(sample(t, name)), pairs...))
}

// Every bad event is ignored with a reason that names the problem, and no
// call is made: neither CodePipeline nor AWS Health is asked, and nothing
// is scheduled or retried.
func TestBadEvents(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 300_000)
	const (
		stageType   = `"CodePipeline Stage Execution State Change"`
		pipelineARN = `"arn:aws:codepipeline:us-east-1:123456789012:web-app"`
	)
	tests := []struct {
		name    string
		payload func(t *testing.T) json.RawMessage
		want    string // in the reason
	}{
		// The wrong detail-type or source.
		{"an action event", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", stageType, `"CodePipeline Action Execution State Change"`)
		}, "detail-type"},
		{"a pipeline event", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", stageType, `"CodePipeline Pipeline Execution State Change"`)
		}, "detail-type"},
		{"another source", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", `"aws.codepipeline"`, `"custom.codepipeline"`)
		}, "source"},
		// AWS Health events that are not as AWS Health sends them.
		{"an AWS Health event of another source", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "health-closed.json", `"aws.health"`, `"custom.health"`)
		}, "source"},
		{"an AWS Health event whose ARN is not one", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "health-closed.json", `"eventArn": "arn:aws:health:us-east-1::event/`, `"eventArn": "arn:aws:s3:::event/`)
		}, "detail.eventArn"},
		{"an AWS Health event of an unknown status", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "health-closed.json", `"statusCode": "closed"`, `"statusCode": "resolved"`)
		}, "detail.statusCode"},
		{"an AWS Health event with a 300 KB ARN", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "health-closed.json", `AWS_EC2_OPERATIONAL_ISSUE_7Q2ZK4`, big)
		}, "detail.eventArn"},
		// An all-clear that is not one: nothing to re-check, nothing read.
		{"an AWS Health event that opens", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "health-closed.json", `"statusCode": "closed"`, `"statusCode": "open"`)
		}, "not closed"},
		// Missing fields.
		{"no pipeline", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", `"pipeline": "web-app",`, "")
		}, "lacks pipeline"},
		{"no stage", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", `"stage": "HealthGate",`, "")
		}, "lacks pipeline, stage or execution-id"},
		{"a recheck without checks", func(t *testing.T) json.RawMessage {
			return json.RawMessage(`{"kind":"pipelineStageRecheck","pipeline":"web-app","stage":"HealthGate","executionId":"` + executionID + `","failedAt":"2025-06-02T08:00:05Z","check":1}`)
		}, "recheck lacks"},
		// Wrong types.
		{"stage a number", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", `"stage": "HealthGate"`, `"stage": 42`)
		}, "detail"},
		{"time not a time", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", `"time": "2025-06-02T08:00:05Z"`, `"time": "yesterday"`)
		}, "time"},
		{"check a string", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "recheck.json", `"check": 1`, `"check": "1"`)
		}, "recheck"},
		{"detail-type a number", func(*testing.T) json.RawMessage { return json.RawMessage(`{"detail-type": 42}`) }, "not a FAILED stage event"},
		{"JSON null", func(*testing.T) json.RawMessage { return json.RawMessage(`null`) }, "not a FAILED stage event"},
		// Oversize.
		{"a 300 KB pipeline name", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", `"pipeline": "web-app"`, `"pipeline": "`+big+`"`)
		}, "not a pipeline name"},
		{"a 300 KB stage name", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "recheck.json", `"stage": "HealthGate"`, `"stage": "`+big+`"`)
		}, "not a stage name"},
		{"a 300 KB execution ID", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", `"execution-id": "`+executionID+`"`, `"execution-id": "`+big+`"`)
		}, "not a pipeline execution ID"},
		// ARNs of the wrong service or partition.
		{"resources naming another pipeline", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", pipelineARN, `"arn:aws:codepipeline:us-east-1:123456789012:payments"`)
		}, "resources"},
		{"resources naming a Lambda function", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", pipelineARN, `"arn:aws:lambda:us-east-1:123456789012:function:web-app"`)
		}, "resources"},
		{"resources in the wrong partition", func(t *testing.T) json.RawMessage {
			return replaceIn(t, "stage-failed.json", pipelineARN, `"arn:aws-cn:codepipeline:us-east-1:123456789012:web-app"`)
		}, "does not hold Region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			fx.now = failedAt.Add(10 * time.Minute)
			sched := &countedSchedules{ScheduleAPI: fx.h.retrier.Scheduler}
			fx.h.retrier.Scheduler = sched
			res := fx.handle(t, tt.payload(t))
			if res.Outcome != healthgate.RetryIgnored || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("Handle = %+v, want ignored with a reason saying %q", res, tt.want)
			}
			if n := len(res.Reason) + len(res.Pipeline) + len(res.Stage) + len(res.ExecutionID); n > 1000 {
				t.Errorf("result holds %d bytes of echoed input; want it clipped", n)
			}
			if calls := fx.fake.Calls(""); len(calls) != 0 || sched.n != 0 {
				t.Errorf("calls = %d to CodePipeline and AWS Health, %d to Scheduler; want none", len(calls), sched.n)
			}
		})
	}
}

// aws-cn and aws-us-gov events are read, and so are fields EventBridge
// adds to its events later.
func TestEventsThatAreRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		pairs []string
	}{
		{"aws-cn", []string{`"region": "us-east-1"`, `"region": "cn-north-1"`,
			`"arn:aws:codepipeline:us-east-1:123456789012:web-app"`, `"arn:aws-cn:codepipeline:cn-north-1:123456789012:web-app"`}},
		{"aws-us-gov", []string{`"region": "us-east-1"`, `"region": "us-gov-west-1"`,
			`"arn:aws:codepipeline:us-east-1:123456789012:web-app"`, `"arn:aws-us-gov:codepipeline:us-gov-west-1:123456789012:web-app"`}},
		{"a new field", []string{`"state": "FAILED",`, `"state": "FAILED", "trigger": {"type": "Webhook"},`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			if res := fx.handle(t, replaceIn(t, "stage-failed.json", tt.pairs...)); res.Outcome != healthgate.RetryScheduled {
				t.Errorf("Handle = %+v, want the first re-check scheduled", res)
			}
		})
	}
}
