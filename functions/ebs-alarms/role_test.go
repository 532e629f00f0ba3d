package main

import (
	"context"
	"maps"
	"slices"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
)

// The function's role writes only alarms under the prefix and only its
// continuation queue (infra/sam/disk-alarm.yaml, WriteSuiteAlarms and
// ResumeQueue): another owner's alarm, a name that only looks like the
// prefix, and another queue are refused, and the account is unchanged.
func TestRoleCannotWriteOutsideItsPrefixOrQueue(t *testing.T) {
	f := newFixture(t, nil)
	under := putAlarms(t, f, 1)
	before := slices.Sorted(maps.Keys(diskalarmtest.Alarms(t, f.cw, "")))
	cw := cloudwatch.NewFromConfig(f.role.Config)
	put := func(name string) error {
		_, err := cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String(diskalarmtest.Namespace), MetricName: aws.String("FreeStorageSpaceInPercent"),
			Statistic: cwtypes.StatisticMinimum, ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
			Threshold: aws.Float64(5), Period: aws.Int32(300), EvaluationPeriods: aws.Int32(1),
		})
		return err
	}
	del := func(names ...string) func() error {
		return func() error {
			_, err := cw.DeleteAlarms(context.Background(), &cloudwatch.DeleteAlarmsInput{AlarmNames: names})
			return err
		}
	}
	tests := []struct {
		name   string
		call   func() error
		action string
	}{
		{"delete another owner's alarm", del(outsidePrefix[0]), "cloudwatch:DeleteAlarms"},
		{"delete an alarm whose name only starts like the prefix", del(outsidePrefix[1]), "cloudwatch:DeleteAlarms"},
		{"delete an alarm whose prefix differs only in case", del(outsidePrefix[2]), "cloudwatch:DeleteAlarms"},
		// IAM authorizes every alarm a call names: one outside the
		// prefix refuses the whole call, so the one under it stays too.
		{"delete its own alarm with another owner's", del(under[0], outsidePrefix[0]), "cloudwatch:DeleteAlarms"},
		{"overwrite another owner's alarm", func() error { return put(outsidePrefix[0]) }, "cloudwatch:PutMetricAlarm"},
		{"create an alarm outside the prefix", func() error { return put("team-a/disk low") }, "cloudwatch:PutMetricAlarm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iam.WantDenied(t, tt.call(), "AccessDenied", tt.action, "")
		})
	}
	if got := slices.Sorted(maps.Keys(diskalarmtest.Alarms(t, f.cw, ""))); !slices.Equal(got, before) {
		t.Errorf("alarms after the refused calls = %q, want %q", got, before)
	}
	if a := diskalarmtest.Alarms(t, f.cw, "")[outsidePrefix[0]]; aws.ToFloat64(a.Threshold) != 20 {
		t.Errorf("another owner's alarm has threshold %g, want its own 20", aws.ToFloat64(a.Threshold))
	}

	t.Run("send to a queue other than its continuation queue", func(t *testing.T) {
		admin := sqs.NewFromConfig(f.cfg)
		q, err := admin.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("someone-elses-jobs")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sqs.NewFromConfig(f.role.Config).SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(`{"kind":"x"}`)})
		iam.WantDenied(t, err, "AccessDenied", "sqs:SendMessage", "")
		attrs, err := admin.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{
			QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages},
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := attrs.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)]; n != "0" {
			t.Errorf("messages on the other queue = %s, want 0", n)
		}
	})
}
