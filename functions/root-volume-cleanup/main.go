// Command root-volume-cleanup deletes replaced root volumes (detached and
// tagged) and replacement snapshots whose source volume is gone, unless
// they back an AMI. Trigger: a schedule.
package main

import (
	"context"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"golang.org/x/time/rate"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		log.Error("invalid configuration", "error", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(1)
	}
	// Throttling during mass deletes is retried by the SDK's standard
	// retryer; the stack sets AWS_RETRY_MODE=adaptive and AWS_MAX_ATTEMPTS.
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
	h := &handler{
		cleaner: &rootvolume.Cleaner{
			EC2:         ec2.NewFromConfig(awsCfg),
			SnapshotTag: cfg.SnapshotTag,
			DeleteTag:   cfg.DeleteTag,
			MinAge:      cfg.MinAge,
			DryRun:      cfg.DryRun,
			Limiter:     rate.NewLimiter(rate.Limit(cfg.DeleteRate), 1),
			Log:         log,
		},
		log: log,
	}
	lambda.Start(h.Handle)
}
