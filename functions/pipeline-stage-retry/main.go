// Command pipeline-stage-retry retries a stage that the health gate
// failed, once AWS Health is clear again. Triggers: EventBridge "CodePipeline
// Stage Execution State Change" events with state FAILED for the opted-in
// pipelines, and the delayed re-check messages it schedules for itself with
// EventBridge Scheduler.
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
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
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
	h := &handler{
		retrier: &healthgate.Retrier{
			Config:       cfg.Retry,
			CodePipeline: codepipeline.NewFromConfig(awsCfg),
			Scheduler:    scheduler.NewFromConfig(awsCfg),
			Health:       healthgate.NewHealthClient(ctx, awsCfg, net.DefaultResolver.LookupCNAME, log),
			Log:          log,
		},
		log: log,
	}
	lambda.Start(h.Handle)
}
