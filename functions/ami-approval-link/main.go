// Command ami-approval-link serves the page behind an approval link: GET
// shows the build's approval request and changes nothing; POST records the
// decision, first one wins, and an approval checks the build with Image
// Builder, shares each AMI in its Region and tells the target topic. A
// request bound to a workflow's waiting step (the workflow mode) is decided
// by resuming (Approve) or stopping (Reject) the step instead.
// Trigger: an API Gateway HTTP API (payload 2.0).
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
	cfg := coldstart.Config(log, approval.LoadSettings)
	awsCfg := coldstart.AWS(context.Background(), log)
	h := &handler{decider: approval.NewDecider(awsCfg, cfg, log), log: log, metrics: metrics.New(lambdacontext.FunctionName, nil)}
	lambda.Start(h.Handle)
}
