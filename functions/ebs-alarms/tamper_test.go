package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
)

// attackerTopic is the topic a forged continuation would point every
// alarm at.
const attackerTopic = "arn:aws:sns:us-east-1:123456789012:attacker-inbox"

// forged is a continuation without a seal (no MAC),
// pointing every instance's alarms at the attacker's topic.
var forged = diskalarm.Resume{Kind: diskalarm.ResumeKind, Trigger: diskalarm.TriggerDirect,
	NamePattern: "*", TopicARN: attackerTopic, Cursor: prefix, Pass: 2}

// wantAlarmsNotify fails unless every alarm under the prefix notifies only
// topic: no alarm was retargeted.
func wantAlarmsNotify(t *testing.T, f *fixture, want int, topic string) {
	t.Helper()
	alarms := diskalarmtest.Alarms(t, f.cw, prefix)
	if len(alarms) != want {
		t.Errorf("alarms = %d, want %d", len(alarms), want)
	}
	for name, a := range alarms {
		if len(a.AlarmActions) != 1 || a.AlarmActions[0] != topic {
			t.Errorf("alarm %q notifies %q, want only %s", name, a.AlarmActions, topic)
		}
	}
}

// An account principal allowed sqs:SendMessage on every queue (a developer
// role, a data pipeline) cannot put a continuation on the queue:
// the queue policy denies SendMessage to every principal but the
// function's role (issue 18, finding 7). Nor can one allowed every KMS
// call make a seal: the key policy lets only the role use the key.
func TestOthersCannotQueueOrSealContinuations(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	seedFleet(t, f)
	admin, url := withQueue(t, f)
	developer := f.role.OtherPrincipal(t, f.cfg, "developer",
		`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sqs:SendMessage", "kms:GenerateMac"], "Resource": "*"}]}`)

	body := string(batchOf(t, forged))
	for _, delay := range []int32{0, 900} { // a resume, and one that would keep the schedule aside
		_, err := sqs.NewFromConfig(developer).SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(body), DelaySeconds: delay})
		iam.WantDenied(t, err, "AccessDenied", "sqs:SendMessage", "")
	}
	_, err := kms.NewFromConfig(developer).GenerateMac(context.Background(), &kms.GenerateMacInput{
		KeyId: aws.String(f.key), MacAlgorithm: kmstypes.MacAlgorithmSpecHmacSha256, Message: []byte("a continuation"),
	})
	iam.WantDenied(t, err, "AccessDeniedException", "kms:GenerateMac", "")

	attrs, err := admin.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: url, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameAll}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesDelayed"} {
		if n := attrs.Attributes[k]; n != "0" {
			t.Errorf("%s = %s, want 0", k, n)
		}
	}
	// The schedule does not stand aside, and writes with its own topic.
	out, err := f.h.Handle(context.Background(), sample(t, "scheduled.json", ""))
	if res, _ := out.(diskalarm.Result); err != nil || strings.Contains(res.Note, "skipped") || res.Created != 8 {
		t.Fatalf("scheduled run = %+v, %v, want it to run and create 8 alarms", out, err)
	}
	wantAlarmsNotify(t, f, 8, sampleTopic)
}

// A continuation that reaches the function without the suite's seal (one
// sent before the queue policy, or by whoever changed it) is dropped, not
// retried, and reported; no alarm is written, so none is retargeted.
func TestForgedContinuationsAreDroppedAndReported(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	seedFleet(t, f)
	withQueue(t, f)
	if _, err := f.h.Handle(context.Background(), sample(t, "direct-invocation.json", "")); err != nil {
		t.Fatal(err)
	}
	wantAlarmsNotify(t, f, 8, sampleTopic)

	// A seal made with a key of the attacker's own.
	other := &proof.Sealer{KMS: kms.NewFromConfig(f.cfg), KeyID: awstest.HMACKey(t, kms.NewFromConfig(f.cfg))}
	ownKey := forged
	ownKey.SealedAt = time.Now().UTC()
	ownKey.MAC = mustSeal(t, other, ownKey)
	// A genuine continuation of the operator's request, its topic changed.
	genuine, err := f.h.queue.Seal(context.Background(), diskalarm.Resume{Kind: diskalarm.ResumeKind, Trigger: diskalarm.TriggerDirect,
		NamePattern: "Windows*", TopicARN: sampleTopic, Cursor: prefix, Pass: 2})
	if err != nil {
		t.Fatal(err)
	}
	retargeted := genuine
	retargeted.TopicARN, retargeted.NamePattern = attackerTopic, "*"
	// A genuine continuation replayed after MaxResumeAge.
	f.h.queue.Now = func() time.Time { return time.Now().Add(-diskalarm.MaxResumeAge - time.Minute) }
	old, err := f.h.queue.Seal(context.Background(), forged)
	f.h.queue.Now = nil
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		body any
		want string
	}{
		{"unsealed", forged, "carries no MAC"},
		{"sealed with another key", ownKey, "does not verify"},
		{"a genuine seal, the topic changed", retargeted, "does not verify"},
		{"a genuine seal, replayed", old, "not fresh"},
		{"not a continuation", map[string]string{"kind": "x"}, "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var emfOut bytes.Buffer
			f.h.metrics = metrics.New("ebs-alarms-fn", &emfOut)
			f.calls.Reset()
			f.logs.Reset()
			out, err := f.h.Handle(context.Background(), batchOf(t, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
				t.Errorf("batch item failures %v, want none: the message is dropped, not retried", resp.BatchItemFailures)
			}
			for _, op := range []string{"CloudWatch.PutMetricAlarm", "CloudWatch.DeleteAlarms", "SQS.SendMessage", "SQS.TagQueue"} {
				if n := f.calls.Count(op); n != 0 {
					t.Errorf("%s calls = %d, want none", op, n)
				}
			}
			if !strings.Contains(f.logs.String(), "tampering") || !strings.Contains(f.logs.String(), tt.want) {
				t.Errorf("logs do not report the tampering (%q):\n%s", tt.want, f.logs)
			}
			emf.Want(t, emfOut.Bytes(), "ebs-alarms-fn", map[string]float64{"ContinuationsTampered": 1})
			wantAlarmsNotify(t, f, 8, sampleTopic)
		})
	}

	// A sealed chain that the schedule started takes the configuration's
	// topic, whatever its message says.
	f.calls.Reset()
	out, err := f.h.Handle(context.Background(), sealedBatch(t, f, diskalarm.Resume{Kind: diskalarm.ResumeKind, Trigger: diskalarm.TriggerSchedule,
		NamePattern: "*", TopicARN: attackerTopic, Cursor: prefix, Pass: 2}))
	if resp, _ := out.(events.SQSEventResponse); err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("sealed schedule continuation = %+v, %v", out, err)
	}
	wantAlarmsNotify(t, f, 8, sampleTopic)
}

func mustSeal(t *testing.T, s *proof.Sealer, m diskalarm.Resume) string {
	t.Helper()
	// The fields Queue.Seal covers, in its order (shared/diskalarm).
	mac, err := s.Seal(context.Background(), diskalarm.ResumeKind,
		proof.String("trigger", m.Trigger), proof.String("namePattern", m.NamePattern), proof.String("tag", m.Tag),
		proof.String("snsTopicArn", m.TopicARN), proof.String("cursor", m.Cursor), proof.Int("pass", int64(m.Pass)),
		proof.Time("sealedAt", m.SealedAt))
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

// Messages on the queue keep the schedule aside only when the chain holds
// a lease the function sealed, younger than LeaseTTL: a delayed message
// that got past the queue policy, a forged lease and an old one do not.
func TestOnlyAFreshSealedLeaseKeepsTheScheduleAside(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	seedFleet(t, f)
	admin, url := withQueue(t, f)
	scheduled := func(t *testing.T) (bool, *bytes.Buffer) {
		t.Helper()
		var emfOut bytes.Buffer
		f.h.metrics = metrics.New("ebs-alarms-fn", &emfOut)
		out, err := f.h.Handle(context.Background(), sample(t, "scheduled.json", ""))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Contains(out.(diskalarm.Result).Note, "skipped"), &emfOut
	}
	tag := func(t *testing.T, v string) {
		t.Helper()
		if _, err := admin.TagQueue(context.Background(), &sqs.TagQueueInput{QueueUrl: url, Tags: map[string]string{diskalarm.LeaseTag: v}}); err != nil {
			t.Fatal(err)
		}
	}

	// A delayed message on the queue, no lease: the schedule runs.
	if _, err := admin.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: url, MessageBody: aws.String(string(batchOf(t, forged))), DelaySeconds: 900}); err != nil {
		t.Fatal(err)
	}
	if skipped, _ := scheduled(t); skipped {
		t.Errorf("scheduled run skipped for a delayed message without a lease")
	}

	t.Run("a forged lease", func(t *testing.T) {
		tag(t, time.Now().UTC().Format(time.RFC3339Nano)+" bm90IGEgTUFD")
		skipped, emfOut := scheduled(t)
		if skipped {
			t.Errorf("scheduled run skipped for a forged lease")
		}
		emf.Want(t, emfOut.Bytes(), "ebs-alarms-fn", map[string]float64{"ContinuationsTampered": 1})
	})
	t.Run("a genuine lease, too old", func(t *testing.T) {
		f.h.queue.Now = func() time.Time { return time.Now().Add(-diskalarm.LeaseTTL - time.Minute) }
		err := f.h.queue.Continue(context.Background(), diskalarm.Resume{Kind: diskalarm.ResumeKind, Trigger: diskalarm.TriggerSchedule, Cursor: prefix, Pass: 2})
		f.h.queue.Now = nil
		if err != nil {
			t.Fatal(err)
		}
		if skipped, _ := scheduled(t); skipped {
			t.Errorf("scheduled run skipped for a lease older than %s", diskalarm.LeaseTTL)
		}
	})
	t.Run("a fresh genuine lease", func(t *testing.T) {
		if err := f.h.queue.Continue(context.Background(), diskalarm.Resume{Kind: diskalarm.ResumeKind, Trigger: diskalarm.TriggerSchedule, Cursor: prefix, Pass: 2}); err != nil {
			t.Fatal(err)
		}
		if skipped, _ := scheduled(t); !skipped {
			t.Errorf("scheduled run not skipped during a sealed chain")
		}
	})
}
