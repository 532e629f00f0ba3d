// Command snapshot-on-volume-create snapshots every new EBS root volume,
// tagged so that the instance can later be reset with EC2 root-volume
// replacement. Trigger: EventBridge "EBS Volume Notification" (createVolume).
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	awsCfg := coldstart.AWS(context.Background(), log)
	h := &handler{
		snapshotter: &rootvolume.Snapshotter{
			EC2:        ec2.NewFromConfig(awsCfg),
			Tag:        cfg.SnapshotTag,
			AttachWait: cfg.AttachWait,
			Log:        log,
		},
		log: log,
	}
	lambda.Start(h.Handle)
}
