package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
)

// sampleEventARN is the AWS Health event health-closed.json closes.
const sampleEventARN = "arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_7Q2ZK4"

// blockedBy fails the gate stage as the gate does when e blocks it: its
// message names the event's ARN.
func (fx *fixture) blockedBy(e fakehealthgate.Event) {
	fx.fake.PutPipeline(webApp("Failed", healthgate.BlockedPrefix+": 1 open issue event in us-east-1, global for EC2, RDS.\n- EC2 in us-east-1: "+e.TypeCode+" ("+e.ARN+"), accounts: 123456789012, started 2025-06-02T07:41:00Z"))
}

// allClear is health-closed.json for the event arn.
func allClear(t *testing.T, arn string) json.RawMessage {
	t.Helper()
	return json.RawMessage(awstest.Replace(t, string(sample(t, "health-closed.json")), sampleEventARN, arn))
}

// A stage waiting on an AWS Health event is retried as soon as the event's
// all-clear arrives, not at its next scheduled re-check; the schedule that
// fires after that, and a redelivered all-clear, find the retry on record
// (the stage running, its retry count grown) and retry nothing.
func TestAllClearRetriesTheWaitingStageAtOnce(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	incident := fx.fake.AddEvent(fakehealthgate.Event{ARN: sampleEventARN, Service: "EC2", Region: "us-east-1", TypeCode: "AWS_EC2_OPERATIONAL_ISSUE"})
	fx.blockedBy(incident)
	if res := fx.handle(t, sample(t, "stage-failed.json")); res.Outcome != healthgate.RetryScheduled {
		t.Fatalf("Handle(stage failed) = %+v, want scheduled", res)
	}
	fx.now = fx.now.Add(2 * time.Minute)
	second := fx.fire(t, 1)
	if second.Outcome != healthgate.RetryScheduled || second.Check != 2 {
		t.Fatalf("re-check 1 while the incident is open = %+v, want check 2 scheduled", second)
	}
	due, _ := time.Parse(time.RFC3339, second.RunAt)

	// The incident closes; its all-clear arrives 30 seconds later, minutes
	// before re-check 2 is due.
	if err := fx.fake.SetEventStatus(incident.ARN, "closed"); err != nil {
		t.Fatal(err)
	}
	fx.now = fx.now.Add(30 * time.Second)
	if !fx.now.Add(time.Minute).Before(due) {
		t.Fatalf("test clock %s is not minutes before re-check 2 at %s", fx.now, due)
	}
	res := fx.handle(t, allClear(t, incident.ARN))
	if res.Outcome != healthgate.RetryRetried || len(res.Stages) != 1 || res.Stages[0].Outcome != healthgate.RetryRetried {
		t.Fatalf("Handle(all-clear) = %+v, want the waiting stage retried", res)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 1 {
		t.Fatalf("RetryStageExecution calls after the all-clear = %d, want 1", n)
	}

	// The schedule fires as the fallback: no second retry.
	fx.now = due
	if late := fx.fire(t, 2); late.Outcome != healthgate.RetryDropped {
		t.Errorf("re-check 2 after the all-clear's retry = %+v, want dropped", late)
	}
	// EventBridge delivers the all-clear again (at least once): no second retry either.
	if again := fx.handle(t, allClear(t, incident.ARN)); again.Outcome == healthgate.RetryRetried {
		t.Errorf("redelivered all-clear = %+v, want no retry", again)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 1 {
		t.Errorf("RetryStageExecution calls in all = %d, want 1", n)
	}
}

// An all-clear is a hint, never a fact: anyone who may put events on a
// bus the rule listens to could send one. It only makes the function ask
// AWS Health again; while AWS Health still shows the event open, nothing is
// retried and the chain of schedules stays as it was.
func TestForgedAllClearOnlyRechecksAWSHealth(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	incident := fx.fake.AddEvent(fakehealthgate.Event{ARN: sampleEventARN, Service: "EC2", Region: "us-east-1", TypeCode: "AWS_EC2_OPERATIONAL_ISSUE"})
	fx.blockedBy(incident)
	fx.handle(t, sample(t, "stage-failed.json"))
	before := keys(fx.schedules(t))
	fx.fake.ResetCalls()

	fx.now = fx.now.Add(30 * time.Second)
	res := fx.handle(t, allClear(t, incident.ARN)) // AWS Health still says open
	if res.Outcome != healthgate.RetryStillBlocked || len(res.Stages) != 1 || res.Stages[0].Outcome != healthgate.RetryStillBlocked ||
		!strings.Contains(res.Stages[0].Reason, incident.ARN) || !strings.Contains(res.Stages[0].Reason, "re-check 1 stays scheduled") {
		t.Fatalf("Handle(forged all-clear) = %+v, want still blocked, naming the event, the schedule kept", res)
	}
	if n := fx.fake.Count("Health.DescribeEvents"); n != 1 {
		t.Errorf("DescribeEvents calls = %d, want 1: the all-clear is checked with AWS Health", n)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
		t.Errorf("RetryStageExecution calls = %d, want 0", n)
	}
	if after := keys(fx.schedules(t)); len(after) != len(before) {
		t.Errorf("schedules after the forged all-clear = %v, want unchanged %v", after, before)
	}

	// An all-clear of an event no stage waits on asks nothing at all.
	fx.fake.ResetCalls()
	other := "arn:aws:health:us-east-1::event/RDS/AWS_RDS_OPERATIONAL_ISSUE/AWS_RDS_OPERATIONAL_ISSUE_1"
	if res := fx.handle(t, allClear(t, other)); res.Outcome != healthgate.RetryIgnored || !strings.Contains(res.Reason, "no stage waits") {
		t.Errorf("Handle(all-clear of another event) = %+v, want ignored", res)
	}
	if calls := fx.fake.Calls(""); len(calls) != 0 {
		t.Errorf("calls to CodePipeline and AWS Health = %d, want none", len(calls))
	}
}

// The role reads the re-check schedules of its own group only.
func TestRoleReadsOnlyItsOwnSchedules(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	ctx := context.Background()
	const otherGroup = "someone-elses"
	if _, err := fx.scheduler.CreateScheduleGroup(ctx, &scheduler.CreateScheduleGroupInput{Name: aws.String(otherGroup)}); err != nil {
		t.Fatal(err)
	}
	if _, err := fx.scheduler.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
		Name: aws.String("healthgate-x-1"), GroupName: aws.String(otherGroup), ScheduleExpression: aws.String("at(2030-01-01T00:00:00)"),
		FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
		Target:             &schedtypes.Target{Arn: aws.String(functionARN), RoleArn: aws.String("arn:aws:iam::123456789012:role/x"), Input: aws.String("{}")},
	}); err != nil {
		t.Fatal(err)
	}
	_, err := scheduler.NewFromConfig(fx.roleCfg).GetSchedule(ctx, &scheduler.GetScheduleInput{Name: aws.String("healthgate-x-1"), GroupName: aws.String(otherGroup)})
	iam.WantDenied(t, err, "AccessDeniedException", "scheduler:GetSchedule", "schedule/"+otherGroup+"/healthgate-x-1")
}
