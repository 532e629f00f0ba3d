// Command root-volume-cleanup deletes the root volumes the suite provably
// replaced (a record in REPLACEMENTS_TABLE, a succeeded task, detached, past
// RETAIN_REPLACED) and the suite's snapshots (marked in their description)
// whose source volume is gone, unless they back an AMI. Trigger: a schedule.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"golang.org/x/time/rate"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	// Throttling during mass deletes is retried by the SDK's standard
	// retryer; the stack sets AWS_RETRY_MODE=adaptive and AWS_MAX_ATTEMPTS.
	awsCfg := coldstart.AWS(context.Background(), log)
	h := &handler{
		cleaner: &rootvolume.Cleaner{
			EC2: ec2.NewFromConfig(awsCfg),
			Store: &rootvolume.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table,
				Sealer: &proof.Sealer{KMS: kms.NewFromConfig(awsCfg), KeyID: cfg.RecordKey}},
			SnapshotTag:    cfg.SnapshotTag,
			DeleteTag:      cfg.DeleteTag,
			KeepTag:        cfg.KeepTag,
			MinAge:         cfg.MinAge,
			RetainReplaced: cfg.RetainReplaced,
			RetainOrphaned: cfg.RetainOrphaned,
			AdoptExternal:  cfg.AdoptExternal,
			DryRun:         cfg.DryRun,
			Prices:         cfg.Prices,
			RecycleBinDays: cfg.RecycleBinDays,
			Limiter:        rate.NewLimiter(rate.Limit(cfg.DeleteRate), 1),
			Log:            log,
		},
		log:     log,
		notify:  &notify.Notifier{SNS: sns.NewFromConfig(awsCfg), TopicARN: cfg.NotifyTopicARN, Log: log},
		metrics: metrics.New(lambdacontext.FunctionName, nil),
	}
	lambda.Start(h.Handle)
}
