// Command replace-root-volume starts an EC2 root-volume replacement from the
// newest replacement snapshot of the instance's root volume, a named
// snapshot of it, or the launch state. Trigger: direct invocation, or an
// EventBridge event whose detail is the same JSON.
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
		replacer: &rootvolume.Replacer{
			EC2:         ec2.NewFromConfig(awsCfg),
			SnapshotTag: cfg.SnapshotTag,
			DeleteTag:   cfg.DeleteTag,
		},
		log: log,
	}
	lambda.Start(h.Handle)
}
