package healthgate

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
)

// The AWS calls each part of the package makes, with the SDK's signatures.

// HealthAPI is what the check asks AWS Health. *health.Client and
// *HealthClient (the one with endpoint failover) both satisfy it.
type HealthAPI interface {
	health.DescribeEventsAPIClient
	health.DescribeEventsForOrganizationAPIClient
	health.DescribeAffectedAccountsForOrganizationAPIClient
}

// JobAPI answers CodePipeline jobs.
type JobAPI interface {
	PutJobSuccessResult(context.Context, *codepipeline.PutJobSuccessResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobSuccessResultOutput, error)
	PutJobFailureResult(context.Context, *codepipeline.PutJobFailureResultInput, ...func(*codepipeline.Options)) (*codepipeline.PutJobFailureResultOutput, error)
}

// PipelineAPI reads and retries the opted-in pipelines.
type PipelineAPI interface {
	GetPipelineState(context.Context, *codepipeline.GetPipelineStateInput, ...func(*codepipeline.Options)) (*codepipeline.GetPipelineStateOutput, error)
	GetPipeline(context.Context, *codepipeline.GetPipelineInput, ...func(*codepipeline.Options)) (*codepipeline.GetPipelineOutput, error)
	RetryStageExecution(context.Context, *codepipeline.RetryStageExecutionInput, ...func(*codepipeline.Options)) (*codepipeline.RetryStageExecutionOutput, error)
}

// ScheduleAPI makes the one-time schedules that re-check a failed stage,
// and reads the pending ones back when AWS Health gives the all-clear.
type ScheduleAPI interface {
	CreateSchedule(context.Context, *scheduler.CreateScheduleInput, ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	scheduler.ListSchedulesAPIClient
	GetSchedule(context.Context, *scheduler.GetScheduleInput, ...func(*scheduler.Options)) (*scheduler.GetScheduleOutput, error)
}

var (
	_ HealthAPI   = (*health.Client)(nil)
	_ HealthAPI   = (*HealthClient)(nil)
	_ JobAPI      = (*codepipeline.Client)(nil)
	_ PipelineAPI = (*codepipeline.Client)(nil)
	_ ScheduleAPI = (*scheduler.Client)(nil)
)
