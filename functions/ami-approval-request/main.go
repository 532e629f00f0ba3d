// Command ami-approval-request asks a person to approve an EC2 Image Builder
// build before its AMIs are shared: for an AVAILABLE build it stores an
// approval request and emails a one-time link through the approver topic;
// for a failed build it sends a notice. Trigger: Image Builder's SNS topic.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	awsCfg := coldstart.AWS(context.Background(), log)
	h := &handler{
		requests: &approval.Requester{
			Store:            &approval.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table},
			SNS:              sns.NewFromConfig(awsCfg),
			ApproverTopicARN: cfg.ApproverTopicARN,
			Targets:          cfg.Targets,
			ApprovalURL:      cfg.ApprovalURL,
			LinkTTL:          cfg.LinkTTL,
			Log:              log,
		},
		log: log,
	}
	lambda.Start(h.Handle)
}
