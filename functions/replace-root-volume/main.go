// Command replace-root-volume starts an EC2 root-volume replacement from the
// newest replacement snapshot of the instance's root volume, a named
// snapshot of it, or the launch state, on instances that opt in with
// REPLACE_OPT_IN_TAG, and records it in REPLACEMENTS_TABLE. Trigger: direct
// invocation, or an EventBridge event on the stack's bus whose detail is the
// same JSON.
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
		replacer: &rootvolume.Replacer{
			EC2: ec2.NewFromConfig(awsCfg),
			Store: &rootvolume.Store{DB: dynamodb.NewFromConfig(awsCfg), Table: cfg.Table,
				Sealer: &proof.Sealer{KMS: kms.NewFromConfig(awsCfg), KeyID: cfg.RecordKey}},
			SnapshotTag: cfg.SnapshotTag,
			DeleteTag:   cfg.DeleteTag,
			OptInTag:    cfg.OptInTag,
		},
		log:     log,
		metrics: metrics.New(lambdacontext.FunctionName, nil),
	}
	lambda.Start(h.Handle)
}
