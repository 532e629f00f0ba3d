// Command snapshot-on-volume-create snapshots every new EBS root volume,
// tagged so that the instance can later be reset with EC2 root-volume
// replacement, and records it in REPLACEMENTS_TABLE. Triggers: EventBridge
// "EBS Volume Notification" (createVolume), and "Snapshot Root Volume
// Requested" on the stack's bus, which snapshots an instance's root now.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	awsCfg := coldstart.AWS(context.Background(), log)
	h := &handler{
		snapshotter: &rootvolume.Snapshotter{
			EC2: ec2.NewFromConfig(awsCfg),
			Store: &rootvolume.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table,
				Sealer: &proof.Sealer{KMS: kms.NewFromConfig(awsCfg), KeyID: cfg.RecordKey}},
			Tag:        cfg.SnapshotTag,
			AttachWait: cfg.AttachWait,
			Log:        log,
		},
		log:     log,
		metrics: metrics.New(lambdacontext.FunctionName, nil),
	}
	lambda.Start(h.Handle)
}
