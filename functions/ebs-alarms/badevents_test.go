package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// replace returns sample name with each old, new pair replaced once.
func replace(t *testing.T, name string, pairs ...string) json.RawMessage {
	t.Helper()
	return json.RawMessage(awstest.Replace(t, string(sample(t, name, sampleInstance)), pairs...))
}

// Every bad event gets a clear error (or, for a continuation on the queue,
// a logged drop) and no write: the calls are counted.
func TestBadEvents(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	seedFleet(t, f)
	big := strings.Repeat("x", 300_000)
	const (
		instanceARN = `"arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"`
		stateChange = `"EC2 Instance State-change Notification"`
	)
	tests := []struct {
		name    string
		payload json.RawMessage
		want    string // in the error
	}{
		// The wrong detail-type or source.
		{"another EC2 detail-type", replace(t, "running.json", stateChange, `"EC2 Spot Instance Interruption Warning"`), "detail-type"},
		{"a state change from another source", replace(t, "running.json", `"aws.ec2"`, `"custom.ec2"`), "source"},
		{"a schedule from another source", replace(t, "scheduled.json", `"aws.events"`, `"aws.ec2"`), "source"},
		// Missing fields.
		{"no instance ID", replace(t, "running.json", `"instance-id": "i-0123456789abcdef0",`, ""), "instance-id"},
		{"no state", replace(t, "running.json", `,
    "state": "running"`, ""), "state is missing"},
		{"no detail", replace(t, "running.json", `"detail": {`, `"detail-less": {`), "no detail"},
		{"direct without hostname", json.RawMessage(`{"sns_topic_arn": "` + sampleTopic + `"}`), "hostname is missing"},
		{"an SQS record without its source", replace(t, "resume.json", `"eventSource": "aws:sqs",`, ""), "aws:sqs"},
		{"an SQS event without records", json.RawMessage(`{"Records": []}`), "without records"},
		// Wrong types.
		{"hostname a number", json.RawMessage(`{"hostname": 42, "sns_topic_arn": "` + sampleTopic + `"}`), "hostname must be a string"},
		{"topic a list", json.RawMessage(`{"hostname": "Windows*", "sns_topic_arn": ["` + sampleTopic + `"]}`), "sns_topic_arn must be a string"},
		{"instance ID a number", replace(t, "running.json", `"instance-id": "i-0123456789abcdef0"`, `"instance-id": 42`), "no detail object"},
		{"detail a string", replace(t, "running.json", `"detail": {`, `"detail": "running", "x": {`), "no detail object"},
		{"Records an object", json.RawMessage(`{"Records": {"body": "x"}}`), "not an SQS event"},
		{"a JSON array", json.RawMessage(`[]`), "not a JSON object"},
		{"JSON null", json.RawMessage(`null`), "not a JSON object"},
		// Oversize payloads.
		{"a 300 KB hostname", json.RawMessage(`{"hostname": "` + big + `", "sns_topic_arn": "` + sampleTopic + `"}`), "300000 bytes"},
		{"a 300 KB instance ID", replace(t, "running.json", `"instance-id": "i-0123456789abcdef0"`, `"instance-id": "i-`+big+`"`), "not an EC2 instance ID"},
		{"a 300 KB unknown field", json.RawMessage(`{"hostname": "Windows*", "` + big + `": 1}`), "unknown field"},
		// Unknown fields in what people write (EventBridge's own events may
		// gain fields: those are read past).
		{"direct with an unknown field", json.RawMessage(`{"hostname": "Windows*", "sns_topic_arn": "` + sampleTopic + `", "region": "eu-west-1"}`), `unknown field "region"`},
		// ARNs of the wrong service or partition.
		{"topic ARN of a queue", json.RawMessage(`{"hostname": "Windows*", "sns_topic_arn": "arn:aws:sqs:us-east-1:123456789012:disk-alerts"}`), "not an SNS topic ARN"},
		{"topic ARN of an unknown partition", json.RawMessage(`{"hostname": "Windows*", "sns_topic_arn": "arn:aws-mars:sns:us-east-1:123456789012:disk-alerts"}`), "aws-mars"},
		{"topic ARN in aws-cn with a us Region", json.RawMessage(`{"hostname": "Windows*", "sns_topic_arn": "arn:aws-cn:sns:us-east-1:123456789012:disk-alerts"}`), "does not hold Region"},
		{"state change naming another instance", replace(t, "running.json", instanceARN, `"arn:aws:ec2:us-east-1:123456789012:instance/i-0fedcba9876543210"`), "resources"},
		{"state change naming a volume", replace(t, "running.json", instanceARN, `"arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0"`), "resources"},
		{"state change in the wrong partition", replace(t, "running.json", instanceARN, `"arn:aws-us-gov:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"`), "does not hold Region"},
		{"SQS record from a topic", replace(t, "resume.json", `"arn:aws:sqs:us-east-1:123456789012:ebs-alarms-resume"`, `"arn:aws:sns:us-east-1:123456789012:ebs-alarms-resume"`), "not an SQS queue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			out, err := f.h.Handle(context.Background(), tt.payload)
			if !errors.Is(err, diskalarm.ErrBadInput) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Handle = %v, %v; want a bad-input error saying %q", out, err, tt.want)
			}
			if err != nil && len(err.Error()) > 600 {
				t.Errorf("error is %d bytes; want it short, the input clipped", len(err.Error()))
			}
			if w := f.calls.Writes(); len(w) != 0 {
				t.Errorf("writes = %v, want none", w)
			}
		})
	}

	// A continuation the suite did not write is dropped and logged: a retry
	// cannot fix it.
	drops := []struct{ name, body, want string }{
		{"not JSON", "resume", "not a continuation message"},
		{"another kind", `{"kind":"other","trigger":"schedule","cursor":"a","pass":2}`, "kind"},
		{"an unknown field", `{"kind":"` + diskalarm.ResumeKind + `","trigger":"schedule","cursor":"a","pass":2,"force":true}`, "unknown field"},
		{"pass a string", `{"kind":"` + diskalarm.ResumeKind + `","trigger":"schedule","cursor":"a","pass":"2"}`, "not a continuation message"},
		{"no cursor", `{"kind":"` + diskalarm.ResumeKind + `","trigger":"schedule","pass":2}`, "no cursor"},
		{"oversize cursor", `{"kind":"` + diskalarm.ResumeKind + `","trigger":"schedule","cursor":"` + big + `","pass":2}`, "cursor"},
		{"topic of another partition", `{"kind":"` + diskalarm.ResumeKind + `","trigger":"schedule","namePattern":"Windows*","snsTopicArn":"arn:aws-cn:sns:us-east-1:123456789012:t","cursor":"a","pass":2}`, "does not hold Region"},
	}
	for _, tt := range drops {
		t.Run("continuation "+tt.name, func(t *testing.T) {
			f.calls.Reset()
			f.logs.Reset()
			batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: tt.body, EventSource: "aws:sqs"}}})
			out, err := f.h.Handle(context.Background(), batch)
			if resp, ok := out.(events.SQSEventResponse); err != nil || !ok || len(resp.BatchItemFailures) != 0 {
				t.Errorf("Handle = %+v, %v; want the message dropped, not retried", out, err)
			}
			if logs := f.logs.String(); !strings.Contains(logs, "continuation dropped") || !strings.Contains(logs, tt.want) {
				t.Errorf("logs do not say the continuation was dropped because of %q:\n%.2000s", tt.want, logs)
			}
			if w := f.calls.Writes(); len(w) != 0 {
				t.Errorf("writes = %v, want none", w)
			}
		})
	}
}

// aws-cn and aws-us-gov topics and events are as valid as aws ones.
func TestOtherPartitionsAreValid(t *testing.T) {
	tests := []struct {
		name, payload string
	}{
		{"aws-cn topic", `{"hostname": "Windows*", "sns_topic_arn": "arn:aws-cn:sns:cn-north-1:123456789012:disk-alerts"}`},
		{"aws-us-gov topic", `{"hostname": "Windows*", "sns_topic_name": "arn:aws-us-gov:sns:us-gov-west-1:123456789012:disk-alerts"}`},
		{"aws-cn state change", `{"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "region": "cn-north-1",
			"resources": ["arn:aws-cn:ec2:cn-north-1:123456789012:instance/i-0123456789abcdef0"],
			"detail": {"instance-id": "i-0123456789abcdef0", "state": "running"}}`},
		{"aws-us-gov state change", `{"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "region": "us-gov-west-1",
			"resources": ["arn:aws-us-gov:ec2:us-gov-west-1:123456789012:instance/i-0123456789abcdef0"],
			"detail": {"instance-id": "i-0123456789abcdef0", "state": "terminated", "new-field": {"x": 1}}}`},
		{"aws-cn queue record", `{"Records": [{"messageId": "m", "body": "{}", "eventSource": "aws:sqs", "eventSourceARN": "arn:aws-cn:sqs:cn-north-1:123456789012:resume"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := diskalarm.DecodeInvocation([]byte(tt.payload)); err != nil {
				t.Errorf("DecodeInvocation(%s) = %v, want it read", tt.payload, err)
			}
		})
	}
}
