// Command ami-approval-request asks a person to approve an EC2 Image Builder
// build before its AMIs are shared: for an AVAILABLE build it stores an
// approval request and emails a one-time link through the approver topic;
// for a failed build it sends a notice. Triggers: Image Builder's SNS topic,
// and the EventBridge event "EC2 Image Builder Workflow Step Waiting" (the
// workflow mode: a request bound to the paused step).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/mail"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, approval.LoadSettings)
	awsCfg := coldstart.AWS(context.Background(), log)
	requests := &approval.Requester{
		Store: approval.NewStore(awsCfg, cfg),
		// Image Builder is asked what each build made, in the build's
		// Region (and, in the workflow mode, about a waiting step, which
		// is later resumed or stopped there); EC2 names its AMIs, in theirs.
		Builds: &approval.Regional[approval.BuildAPI]{New: func(region string) approval.BuildAPI {
			return imagebuilder.NewFromConfig(awsCfg, func(o *imagebuilder.Options) { o.Region = region })
		}},
		EC2: &approval.Regional[approval.NameAPI]{New: func(region string) approval.NameAPI {
			return ec2.NewFromConfig(awsCfg, func(o *ec2.Options) { o.Region = region })
		}},
		SNS:              sns.NewFromConfig(awsCfg),
		ApproverTopicARN: cfg.ApproverTopicARN,
		Targets:          cfg.Targets,
		ApprovalURL:      cfg.ApprovalURL,
		LinkTTL:          cfg.LinkTTL,
		// Named approvers (APPROVERS): each emailed their own link with SES.
		Named: cfg.Named,
		Mail:  &mail.Sender{SES: sesv2.NewFromConfig(awsCfg), From: cfg.Named.From},
		Log:   log,
	}
	h := &handler{
		requests: requests,
		log:      log,
		metrics:  metrics.New(lambdacontext.FunctionName, nil),
	}
	lambda.Start(h.Invoke)
}
