package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// NotifyTopicEnv names the functions' notification topic (shared/notify).
const NotifyTopicEnv = "NOTIFY_TOPIC_ARN"

// checkNotifyTopic validates a given notification topic ARN; empty means
// the stack creates one.
func checkNotifyTopic(given string) error {
	if err := notify.TopicFromEnv(given); err != nil {
		return fmt.Errorf("notification topic: %w", err)
	}
	return nil
}

// notificationTopic returns the ARN of the topic a capability's functions
// tell people through: the one given, or one the stack creates with
// logical ID id (TLS-only publishing). Either way it is the stack's
// NotificationTopicArn output, for subscriptions (email, AWS Chatbot).
func notificationTopic(stack awscdk.Stack, id, given, displayName string) *string {
	arn := jsii.String(given)
	if given == "" {
		topic := awssns.NewTopic(stack, jsii.String(id), &awssns.TopicProps{
			DisplayName: jsii.String(displayName),
			EnforceSSL:  jsii.Bool(true),
		})
		pinLogicalID(topic, id)
		arn = topic.TopicArn()
	}
	awscdk.NewCfnOutput(stack, jsii.String("NotificationTopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("Subscribe people (email) or AWS Chatbot (Slack, Microsoft Teams) to hear what the functions did"),
		Value:       arn,
	})
	return arn
}

// publishStatement allows sns:Publish on the notification topic only.
func publishStatement(topic *string) awsiam.PolicyStatement {
	return statement("PublishNotifications", []string{"sns:Publish"}, []*string{topic}, nil)
}
