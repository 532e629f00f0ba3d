// Command pipeline-stage-retry retries a stage that the health gate
// failed, once AWS Health is clear again. Triggers: EventBridge "CodePipeline
// Stage Execution State Change" events with state FAILED for the opted-in
// pipelines, and the delayed re-check messages it schedules for itself with
// EventBridge Scheduler.
package main

import (
	"context"
	"net"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	ctx := context.Background()
	awsCfg := coldstart.AWS(ctx, log)
	h := &handler{
		retrier: &healthgate.Retrier{
			Config:       cfg.Retry,
			CodePipeline: codepipeline.NewFromConfig(awsCfg),
			Scheduler:    scheduler.NewFromConfig(awsCfg),
			Health:       healthgate.NewHealthClient(ctx, awsCfg, net.DefaultResolver.LookupCNAME, log),
			Log:          log,
		},
		notify:  &notify.Notifier{SNS: sns.NewFromConfig(awsCfg), TopicARN: cfg.NotifyTopicARN, Log: log},
		log:     log,
		metrics: metrics.New(lambdacontext.FunctionName, nil),
	}
	lambda.Start(h.Handle)
}
