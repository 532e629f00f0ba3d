// Command replace-root-volume starts an EC2 root-volume replacement from the
// newest replacement snapshot of the instance's root volume, a named
// snapshot of it, or the launch state. Trigger: direct invocation, or an
// EventBridge event whose detail is the same JSON.
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
)

func main() {
	log := lambdacontext.NewLogger()
	cfg, err := loadConfig(os.LookupEnv)
	if err != nil {
		log.Error("invalid configuration", "error", strings.ReplaceAll(err.Error(), "\n", "; "))
		os.Exit(1)
	}
	awsCfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		log.Error("load AWS configuration", "error", err.Error())
		os.Exit(1)
	}
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
