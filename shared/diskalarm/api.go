package diskalarm

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// The SDK calls the package makes, with the SDK's signatures.
//
// The CloudWatch client is pinned at v1.52.8 in go.mod: later versions speak
// the Smithy RPC v2 CBOR protocol, which moto (the local AWS the tests and
// `make local` use) does not answer. Real CloudWatch accepts both protocols,
// so the pin costs nothing in AWS; lift it only when moto speaks CBOR.

type cloudWatchAPI interface {
	cloudwatch.ListMetricsAPIClient
	cloudwatch.GetMetricDataAPIClient
	cloudwatch.DescribeAlarmsAPIClient
	PutMetricAlarm(context.Context, *cloudwatch.PutMetricAlarmInput, ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error)
	DeleteAlarms(context.Context, *cloudwatch.DeleteAlarmsInput, ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error)
}

type ec2API interface {
	ec2.DescribeInstancesAPIClient
}

type queueAPI interface {
	SendMessage(context.Context, *sqs.SendMessageInput, ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	GetQueueAttributes(context.Context, *sqs.GetQueueAttributesInput, ...func(*sqs.Options)) (*sqs.GetQueueAttributesOutput, error)
	TagQueue(context.Context, *sqs.TagQueueInput, ...func(*sqs.Options)) (*sqs.TagQueueOutput, error)
	ListQueueTags(context.Context, *sqs.ListQueueTagsInput, ...func(*sqs.Options)) (*sqs.ListQueueTagsOutput, error)
}

// Pacer spaces out calls; *rate.Limiter is one. Wait fails when the wait
// would pass the context's deadline, which ends the run's writes.
type Pacer interface {
	Wait(context.Context) error
}

var (
	_ cloudWatchAPI = (*cloudwatch.Client)(nil)
	_ ec2API        = (*ec2.Client)(nil)
	_ queueAPI      = (*sqs.Client)(nil)
)
