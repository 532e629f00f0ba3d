package main

import "testing"

// TestEachFunctionNeedsItsStatements takes one statement out of each
// function's role in infra/sam, in turn, and runs a test of that function
// that needs it: the test must then fail with an access-denied error
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
		{"./functions/snapshot-on-volume-create", "TestRootVolumeIsSnapshottedOnceWithTags", "SnapshotOnVolumeCreateRole/ec2#1", "ec2:CreateSnapshot"},
		{"./functions/replace-root-volume", "TestLatestSnapshotOfTheCurrentRootIsRestored", "ReplaceRootVolumeRole/ec2#2", "ec2:CreateReplaceRootVolumeTask"},
		{"./functions/root-volume-cleanup", "TestCleanupTellsWhatItDeleted", "RootVolumeCleanupRole/ec2#2", "ec2:DeleteVolume"},
		{"./functions/ebs-alarms", "TestDirectInvocationCreatesTwoAlarmsPerWindowsDisk", "EbsAlarmsRole/disk-alarms#1", "cloudwatch:PutMetricAlarm"},
		{"./functions/pipeline-health-gate", "TestCommaFormChecksEachRegion", "PipelineHealthGateRole/health-gate#1", "codepipeline:PutJobSuccessResult"},
		{"./functions/pipeline-stage-retry", "TestGateFailureThenHealthyRetriesFailedActionsOnce", "PipelineStageRetryRole/stage-retry#2", "codepipeline:RetryStageExecution"},
		{"./functions/ami-approval-request", "TestAvailableBuildEmailsOneLink", "AmiApprovalRequestRole/ami-approval#1", "sns:Publish"},
		{"./functions/ami-approval-link", "TestApproveSharesOnceAndNotifiesOnce", "AmiApprovalLinkRole/ami-approval#6", "ec2:ModifyImageAttribute"},
		{"./functions/ami-approval-sweeper", "TestDecisionsAreMetrics", "AmiApprovalSweeperRole/ami-approval#0", "dynamodb:Scan"},
	}
	for _, tt := range tests {
		t.Run(tt.statement, func(t *testing.T) {
			if ok, detail := dropOne(tt.statement, tt.pkg, tt.test, []string{tt.action}); !ok {
				t.Errorf("%s %s without %s: %s", tt.pkg, tt.test, tt.statement, detail)
			}
		})
	}
}
