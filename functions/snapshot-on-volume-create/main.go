// Command snapshot-on-volume-create snapshots every new EBS root volume,
// tagged so that the instance can later be reset with EC2 root-volume
// replacement, and records it in REPLACEMENTS_TABLE. Triggers: EventBridge
// "EBS Volume Notification" (createVolume), and "Snapshot Root Volume
// Requested" on the stack's bus, which snapshots an instance's root now;
// and the coverage schedule (COVERAGE_SCHEDULE), which snapshots every root
// in scope (COVERAGE_SCOPE) that has no restore point yet.
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
	awsCfg := coldstart.AWS(context.Background(), log)
	ops := &notify.Notifier{SNS: sns.NewFromConfig(awsCfg), TopicARN: cfg.OpsTopicARN, Log: log}
	var tell func(context.Context, string, string) error
	if ops.Enabled() {
		tell = func(ctx context.Context, subject, body string) error {
			return ops.Send(ctx, notify.Message{Subject: subject, Body: body})
		}
	}
	h := &handler{
		snapshotter: &rootvolume.Snapshotter{
			EC2: ec2.NewFromConfig(awsCfg),
			Store: &rootvolume.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table,
				Sealer: &proof.Sealer{KMS: kms.NewFromConfig(awsCfg), KeyID: cfg.RecordKey}},
			Tag:        cfg.SnapshotTag,
			AttachWait: cfg.AttachWait,
			Log:        log,
		},
		coverage: rootvolume.Coverage{Scope: cfg.CoverageScope, OptInTag: cfg.OptInTag,
			// CreateSnapshot is a mutating call: stay under EC2's refill of
			// about 5 a second per account, as the cleanup's deletes do.
			Limiter: rate.NewLimiter(5, 1), Tell: tell},
		log:     log,
		metrics: metrics.New(lambdacontext.FunctionName, nil),
	}
	lambda.Start(h.Handle)
}
