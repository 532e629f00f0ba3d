// Command ebs-alarms keeps CloudWatch disk-space alarms in step with EC2
// instances: two alarms (Warning, Critical) per disk the CloudWatch agent
// reports, with thresholds by disk size. Triggers: a direct invocation
// ({"hostname": "Windows*", "sns_topic_arn": "arn:aws:sns:…"}), EventBridge
// "EC2 Instance State-change Notification" (running, terminated), a
// schedule, and the SQS queue that continues runs stopped by the deadline.
// See docs/ebs-alarms.md.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
)

func main() {
	log := lambdacontext.NewLogger()
	cfg := coldstart.Config(log, loadConfig)
	// Throttled writes are retried by the SDK's retryer; the stack sets
	// AWS_RETRY_MODE=adaptive and AWS_MAX_ATTEMPTS so that it backs off.
	awsCfg := coldstart.AWS(context.Background(), log)
	h := newHandler(cfg, awsCfg, log)
	h.metrics = metrics.New(lambdacontext.FunctionName, nil)
	lambda.Start(h.Handle)
}
