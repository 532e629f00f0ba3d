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
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		log.Error("invalid configuration", "error", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(1)
	}
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		log.Error("load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	healthClient := healthgate.NewHealthClient(ctx, awsCfg, net.DefaultResolver.LookupCNAME, log)
	var endpoints []string
	for _, e := range healthClient.Endpoints() {
		endpoints = append(endpoints, e.String())
	}
	log.Info("AWS Health endpoints", "endpoints", endpoints)

	h := &handler{
		health:       healthClient,
		jobs:         codepipeline.NewFromConfig(awsCfg),
		region:       cfg.Region,
		organization: cfg.OrganizationView,
		margin:       cfg.DeadlineMargin,
		log:          log,
	}
	lambda.Start(h.Handle)
}
