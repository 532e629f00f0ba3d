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
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/coldstart"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"golang.org/x/time/rate"
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

// newHandler wires the clients, once per cold start.
func newHandler(cfg Config, awsCfg aws.Config, log *slog.Logger) *handler {
	h := &handler{
		rec: &diskalarm.Reconciler{
			EC2:         ec2.NewFromConfig(awsCfg),
			CloudWatch:  cloudwatch.NewFromConfig(awsCfg),
			Namespace:   cfg.Namespace,
			Alarms:      cfg.Alarms,
			RecentOnly:  cfg.RecentOnly,
			SizeRefresh: cfg.SizeRefresh,
			FullPass:    cfg.FullPass,
			Pacers:      diskalarm.QuotaPacers(cfg.QuotaShare),
			Limiter:     rate.NewLimiter(rate.Limit(cfg.WriteRate), 1),
			Log:         log,
		},
		defaults: diskalarm.Defaults{Selector: cfg.Selector, TopicARN: cfg.TopicARN},
		log:      log,
	}
	if cfg.ResumeQueueURL != "" {
		h.queue = &diskalarm.Queue{SQS: sqs.NewFromConfig(awsCfg), URL: cfg.ResumeQueueURL,
			Proof: &proof.Sealer{KMS: kms.NewFromConfig(awsCfg), KeyID: cfg.ProofKeyID}}
	}
	return h
}
