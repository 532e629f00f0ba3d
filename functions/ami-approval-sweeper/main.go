// Command ami-approval-sweeper finishes AMI approvals whose sharing stopped
// part way (a timeout, a crash, a failed final write): each approval left
// "sharing" past its lease is completed (every AMI shared, the targets told
// once) or reverted (nothing left shared), recorded, and told to the
// approver topic. In the workflow mode, on the same schedule, it sends a
// recorded step decision that Image Builder never confirmed again (same
// client token), and reminds the approvers, once, of each undecided step
// that times out within STEP_REMINDER_LEAD. Trigger: an EventBridge
// schedule (rate(5 minutes)).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	awsCfg := coldstart.AWS(context.Background(), log)
	d := approval.NewDecider(awsCfg, cfg.Settings, log)
	d.OpsTopicARN, d.ReminderLead = cfg.OpsTopicARN, cfg.ReminderLead
	h := &handler{decider: d, log: log, metrics: metrics.New(lambdacontext.FunctionName, nil)}
	lambda.Start(h.Handle)
}
