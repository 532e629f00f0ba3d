package stacks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// TestNotificationTopics pins the notification topics and their publishers:
// each stack creates a TLS-only topic unless one is given, outputs it, and
// its publishers may sns:Publish to that topic and nothing else.
func TestNotificationTopics(t *testing.T) {
	const given = "arn:aws:sns:eu-west-1:123456789012:ops-pipeline-events"
	tests := []struct {
		name       string
		tmpl       func(t *testing.T) assertions.Template
		withTopic  func(t *testing.T) assertions.Template
		topicID    string
		publishers []string
	}{
		{"pipeline health", defaultHealthGate, func(t *testing.T) assertions.Template {
			return synthHealthGate(t, HealthGateStackProps{Pipelines: []string{DefaultExamplePipelineName}, NotifyTopicARN: given})
		}, "HealthGateNotifyTopic", HealthGateFunctions},
		{"root volume", defaultRootVolume, func(t *testing.T) assertions.Template {
			return synthRootVolume(t, RootVolumeStackProps{NotifyTopicARN: given})
		}, "RootVolumeNotifyTopic", []string{RootVolumeCleanup}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := tt.tmpl(t)
			if _, ok := resources(tmpl, "AWS::SNS::Topic")[tt.topicID]; !ok {
				t.Fatalf("no AWS::SNS::Topic %s", tt.topicID)
			}
			check(t, func() {
				tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
					"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&map[string]any{
						"Effect": "Deny", "Action": "sns:Publish", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
					})})},
				})
			})
			check(t, func() {
				tmpl.HasOutput(jsii.String("NotificationTopicArn"), map[string]any{"Value": map[string]any{"Ref": tt.topicID}})
			})
			ref := map[string]any{"Ref": tt.topicID}
			for _, fn := range tt.publishers {
				hasStatement(t, tmpl, fn, map[string]any{"Sid": "PublishNotifications", "Action": "sns:Publish", "Resource": ref})
			}
			// No other statement names SNS.
			for id, policy := range resources(tmpl, "AWS::IAM::Policy") {
				doc, _ := json.Marshal(policy)
				if n := strings.Count(string(doc), "sns:"); n > len(tt.publishers) {
					t.Errorf("policy %s mentions sns: %d times, want only the publish statements", id, n)
				}
			}

			tmpl = tt.withTopic(t)
			// No notification topic; the only topic left is the operational
			// alarms' (observability.go), created under its own condition.
			for id := range resources(tmpl, "AWS::SNS::Topic") {
				if id != opsTopicID {
					t.Errorf("topic %s is created though NotifyTopicARN is given", id)
				}
			}
			for _, fn := range tt.publishers {
				hasStatement(t, tmpl, fn, map[string]any{"Sid": "PublishNotifications", "Action": "sns:Publish", "Resource": given})
			}
			check(t, func() { tmpl.HasOutput(jsii.String("NotificationTopicArn"), map[string]any{"Value": given}) })
		})
	}
}

func TestNotificationTopicMustBeATopicARN(t *testing.T) {
	_, err := NewRootVolumeStack(awscdk.NewApp(nil), "RootVolume", &RootVolumeStackProps{AssetDir: assetDir, NotifyTopicARN: "ops-events"})
	if err == nil || !strings.Contains(err.Error(), "notification topic") {
		t.Errorf("NewRootVolumeStack(NotifyTopicARN: ops-events) = %v, want an error naming the notification topic", err)
	}
}
