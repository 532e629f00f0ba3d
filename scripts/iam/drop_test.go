package main

import "testing"

// TestEachFunctionNeedsItsStatements takes one statement out of each
// function's role in infra/sam, in turn, and runs a test of that function
// that needs it (each named by its Sid, which stays put when statements
// are added): the test must then fail with an access-denied error
// naming the statement's action. So the IAM layer evaluates every
// function's calls with the templates' own policies, and a missing grant
// fails that function's tests. (`make iam ARGS=-drop` does the same for
// every exercised statement.)
func TestEachFunctionNeedsItsStatements(t *testing.T) {
	if testing.Short() {
		t.Skip("runs nine function tests again; -short skips it")
	}
	tests := []struct {
		pkg, test, statement, action string
	}{
		{"./functions/snapshot-on-volume-create", "TestRootVolumeIsSnapshottedOnceWithTags", "SnapshotOnVolumeCreateRole/ec2#CreateTaggedSnapshot", "ec2:CreateSnapshot"},
		{"./functions/replace-root-volume", "TestLatestSnapshotOfTheCurrentRootIsRestored", "ReplaceRootVolumeRole/ec2#ReplaceOptedInInstances", "ec2:CreateReplaceRootVolumeTask"},
		{"./functions/root-volume-cleanup", "TestCleanupTellsWhatItDeleted", "RootVolumeCleanupRole/ec2#DeleteMarkedVolumes", "ec2:DeleteVolume"},
		{"./functions/ebs-alarms", "TestDirectInvocationCreatesTwoAlarmsPerWindowsDisk", "EbsAlarmsRole/disk-alarms#WriteSuiteAlarms", "cloudwatch:PutMetricAlarm"},
		{"./functions/pipeline-health-gate", "TestCommaFormChecksEachRegion", "PipelineHealthGateRole/health-gate#AnswerPipelineJobs", "codepipeline:PutJobSuccessResult"},
		{"./functions/pipeline-stage-retry", "TestGateFailureThenHealthyRetriesFailedActionsOnce", "PipelineStageRetryRole/stage-retry#RetryOptedInPipelines", "codepipeline:RetryStageExecution"},
		{"./functions/ami-approval-request", "TestAvailableBuildEmailsOneLink", "AmiApprovalRequestRole/ami-approval#EmailApprovers", "sns:Publish"},
		{"./functions/ami-approval-link", "TestApproveSharesOnceAndNotifiesOnce", "AmiApprovalLinkRole/ami-approval#ShareImageBuilderAMIs", "ec2:ModifyImageAttribute"},
		{"./functions/ami-approval-sweeper", "TestDecisionsAreMetrics", "AmiApprovalSweeperRole/ami-approval#Decisions", "dynamodb:Scan"},
	}
	for _, tt := range tests {
		t.Run(tt.statement, func(t *testing.T) {
			if ok, detail := dropOne(tt.statement, tt.pkg, tt.test, []string{tt.action}); !ok {
				t.Errorf("%s %s without %s: %s", tt.pkg, tt.test, tt.statement, detail)
			}
		})
	}
}
