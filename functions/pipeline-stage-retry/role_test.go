package main

import (
	"context"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/google/go-cmp/cmp"
)

// The retry role reads and retries only the opted-in pipelines
// (HealthGatePipelines), schedules only in its own group and passes only
// the scheduler role: it cannot touch a pipeline that did not opt in,
// schedule elsewhere, or hand a schedule another role.
func TestRoleCannotRetryPipelinesThatDidNotOptIn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("retry or read another pipeline", func(t *testing.T) {
		fx := newFixture(t)
		payments := webApp("Failed", "deploy failed")
		payments.Name = "payments"
		fx.fake.PutPipeline(payments)
		cp := codepipeline.NewFromConfig(fx.pipelineCfg)
		_, err := cp.RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{
			PipelineName: aws.String("payments"), StageName: aws.String(stage),
			PipelineExecutionId: aws.String(executionID), RetryMode: cptypes.StageRetryModeFailedActions,
		})
		iam.WantDenied(t, err, "AccessDeniedException", "codepipeline:RetryStageExecution", ":payments/"+stage)
		_, err = cp.GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("payments")})
		iam.WantDenied(t, err, "AccessDeniedException", "codepipeline:GetPipelineState", ":payments")
		if n := fx.fake.Count("CodePipeline.RetryStageExecution") + fx.fake.Count("CodePipeline.GetPipelineState"); n != 0 {
			t.Errorf("calls that reached CodePipeline = %d, want 0", n)
		}
		got, _ := fx.fake.Pipeline("payments")
		if diff := cmp.Diff(payments, got); diff != "" {
			t.Errorf("payments changed (-before +after):\n%s", diff)
		}
	})

	schedule := func(group, role string) *scheduler.CreateScheduleInput {
		return &scheduler.CreateScheduleInput{
			Name: aws.String("healthgate-intruder"), GroupName: aws.String(group),
			ScheduleExpression: aws.String("at(2025-06-02T08:02:05)"),
			FlexibleTimeWindow: &schedtypes.FlexibleTimeWindow{Mode: schedtypes.FlexibleTimeWindowModeOff},
			Target:             &schedtypes.Target{Arn: aws.String(functionARN), RoleArn: aws.String(role), Input: aws.String("{}")},
		}
	}
	tests := []struct {
		name, group, role, action, resource string
	}{
		{name: "schedule in another group", group: "default", role: schedulerRole,
			action: "scheduler:CreateSchedule", resource: ":schedule/default/healthgate-intruder"},
		{name: "pass another role", group: group, role: "admin",
			action: "iam:PassRole", resource: ":role/admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			acct := fx.role.Principal.Account
			_, err := scheduler.NewFromConfig(fx.roleCfg).CreateSchedule(ctx, schedule(tt.group, "arn:aws:iam::"+acct+":role/"+tt.role))
			iam.WantDenied(t, err, "AccessDeniedException", tt.action, tt.resource)
			list, err := fx.scheduler.ListSchedules(ctx, &scheduler.ListSchedulesInput{})
			if err != nil {
				t.Fatalf("ListSchedules: %v", err)
			}
			if len(list.Schedules) != 0 {
				t.Errorf("schedules in the account = %d, want none", len(list.Schedules))
			}
		})
	}
}
