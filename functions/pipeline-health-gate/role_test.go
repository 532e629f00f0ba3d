package main

import (
	"context"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/google/go-cmp/cmp"
)

// The gate's role answers jobs and publishes to its own topic, nothing
// more: it cannot retry (or even read) a pipeline's stage, which is
// pipeline-stage-retry's job, and it cannot publish to another topic of
// the account.
func TestRoleCannotRetryStagesOrPublishElsewhere(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const executionID = "0b5c9e2a-7f3d-4e1b-9c8a-6d2e1f0a9b8c"

	t.Run("retry a stage", func(t *testing.T) {
		f := newFixture(t)
		failed := fakehealthgate.Pipeline{Name: "web-app", Stages: []fakehealthgate.Stage{{
			Name: "Deploy", ExecutionID: executionID, Status: "Failed",
			Actions: []fakehealthgate.Action{{Name: "Deploy", Category: "Deploy", Provider: "S3", Status: "Failed", ErrorCode: "JobFailed", ErrorMessage: "boom"}},
		}}}
		f.fake.PutPipeline(failed)
		_, err := codepipeline.NewFromConfig(f.roleCfg).RetryStageExecution(ctx, &codepipeline.RetryStageExecutionInput{
			PipelineName: aws.String("web-app"), StageName: aws.String("Deploy"),
			PipelineExecutionId: aws.String(executionID), RetryMode: cptypes.StageRetryModeFailedActions,
		})
		iam.WantDenied(t, err, "AccessDeniedException", "codepipeline:RetryStageExecution", ":web-app/Deploy")
		if n := f.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
			t.Errorf("RetryStageExecution calls that reached CodePipeline = %d, want 0", n)
		}
		got, _ := f.fake.Pipeline("web-app")
		if diff := cmp.Diff(failed, got); diff != "" {
			t.Errorf("the pipeline changed (-before +after):\n%s", diff)
		}
		_, err = codepipeline.NewFromConfig(f.roleCfg).GetPipelineState(ctx, &codepipeline.GetPipelineStateInput{Name: aws.String("web-app")})
		iam.WantDenied(t, err, "AccessDeniedException", "codepipeline:GetPipelineState", ":web-app")
	})

	t.Run("publish to another topic", func(t *testing.T) {
		f := newFixture(t)
		admin := sns.NewFromConfig(f.cfg)
		other := approvaltest.CreateTopic(t, admin, "someone-elses-topic")
		inbox := approvaltest.NewInbox(t, admin, sqs.NewFromConfig(f.cfg), other)
		_, err := sns.NewFromConfig(f.roleCfg).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(other), Subject: aws.String("Health gate"), Message: aws.String("spoofed")})
		iam.WantDenied(t, err, "AuthorizationError", "sns:Publish", other)
		if msgs := inbox.Receive(t); len(msgs) != 0 {
			t.Errorf("messages on %s = %+v, want none", other, msgs)
		}
	})
}
