// Command ami-approval-link serves the page behind an approval link: GET
// shows the build's approval request and changes nothing; POST records the
// decision, first one wins, and an approval shares each AMI in its Region
// and tells the target topic. Trigger: an API Gateway HTTP API (payload 2.0).
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	awsCfg := coldstart.AWS(context.Background(), log)
	h := &handler{decider: newDecider(awsCfg, cfg, log), log: log}
	lambda.Start(h.Handle)
}

// newDecider builds the clients once, at cold start; Image Builder, EC2 and
// KMS clients are made per Region as the builds and AMIs need them. The
// sweeper builds the same Decider (see functions/ami-approval-sweeper).
func newDecider(awsCfg aws.Config, cfg Config, log *slog.Logger) *approval.Decider {
	return &approval.Decider{
		Store: &approval.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table},
		Builds: &approval.Regional[approval.BuildAPI]{New: func(region string) approval.BuildAPI {
			return imagebuilder.NewFromConfig(awsCfg, func(o *imagebuilder.Options) { o.Region = region })
		}},
		EC2: &approval.Regional[approval.ImageAPI]{New: func(region string) approval.ImageAPI {
			return ec2.NewFromConfig(awsCfg, func(o *ec2.Options) { o.Region = region })
		}},
		KMS: &approval.Regional[approval.KeyAPI]{New: func(region string) approval.KeyAPI {
			return kms.NewFromConfig(awsCfg, func(o *kms.Options) { o.Region = region })
		}},
		SNS:              sns.NewFromConfig(awsCfg),
		TargetTopicARN:   cfg.TargetTopicARN,
		ApproverTopicARN: cfg.ApproverTopicARN,
		Log:              log,
	}
}
