// Command pipeline-health-gate is a CodePipeline Lambda invoke action that
// asks AWS Health before a deployment: it passes when no open event blocks
// the pipeline's Regions, and otherwise fails the action naming the events
// or waits for them to close. It answers CodePipeline exactly once per
// invocation, whatever happens. Trigger: a CodePipeline job
// ("CodePipeline.job"); configuration per pipeline in UserParameters.
package main

import (
	"context"
	"net"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
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
	healthClient := healthgate.NewHealthClient(ctx, awsCfg, net.DefaultResolver.LookupCNAME, log)
	var endpoints []string
	for _, e := range healthClient.Endpoints() {
		endpoints = append(endpoints, e.String())
	}
	log.Info("AWS Health endpoints", "endpoints", endpoints)

	h := &handler{
		gate: &healthgate.Gate{
			Health:       healthClient,
			Jobs:         codepipeline.NewFromConfig(awsCfg),
			Region:       cfg.Region,
			Organization: cfg.OrganizationView,
			Margin:       cfg.DeadlineMargin,
		},
		log:     log,
		notify:  &notify.Notifier{SNS: sns.NewFromConfig(awsCfg), TopicARN: cfg.NotifyTopicARN, Log: log},
		metrics: metrics.New(lambdacontext.FunctionName, nil),
	}
	lambda.Start(h.Handle)
}
