package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
)

// slowWrites paces writes as if each took cost: it keeps its own clock,
// from now (the invocation's start, so that the reads' real time does not
// change the count), which every Wait moves on by cost, and refuses a wait
// that would end past its context's deadline. Time passes without the test
// waiting for it.
type slowWrites struct {
	cost time.Duration
	now  time.Time
}

func (s *slowWrites) Wait(ctx context.Context) error {
	if s.now.IsZero() {
		s.now = time.Now()
	}
	s.now = s.now.Add(s.cost)
	if dl, ok := ctx.Deadline(); ok && s.now.After(dl) {
		return context.DeadlineExceeded
	}
	return nil
}

// withQueue gives the fixture's handler a continuation queue in moto.
func withQueue(t *testing.T, f *fixture) (*sqs.Client, *string) {
	t.Helper()
	sqsClient := sqs.NewFromConfig(f.cfg)
	q, err := sqsClient.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(resumeQueue)})
	if err != nil {
		t.Fatal(err)
	}
	f.h.queue = &diskalarm.Queue{SQS: sqs.NewFromConfig(countedConfig(f)), URL: aws.ToString(q.QueueUrl),
		Proof: &proof.Sealer{KMS: kms.NewFromConfig(countedConfig(f)), KeyID: f.key}}
	return sqsClient, q.QueueUrl
}

// sealedBatch seals m as the function does and wraps it in an SQS batch.
func sealedBatch(t *testing.T, f *fixture, m diskalarm.Resume) json.RawMessage {
	t.Helper()
	m, err := f.h.queue.Seal(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return batchOf(t, m)
}

// batchOf wraps m, as it is, in an SQS batch of one record.
func batchOf(t *testing.T, m any) json.RawMessage {
	t.Helper()
	body, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: string(body), EventSource: "aws:sqs"}}})
	return batch
}

// next takes the queued continuation off the queue as an SQS batch.
func next(t *testing.T, sqsClient *sqs.Client, url *string) (json.RawMessage, bool) {
	t.Helper()
	msgs, err := sqsClient.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: url})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs.Messages) == 0 {
		return nil, false
	}
	m := msgs.Messages[0]
	if _, err := sqsClient.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatal(err)
	}
	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), EventSource: "aws:sqs",
	}}})
	return batch, true
}

// With any timeout from 10 s up the function makes progress and hands the
// rest on: each write here takes 2 s, so a 10 s invocation (2 s margin)
// writes a few and queues the rest, while 30 s and 900 s ones write all 8
// alarms at once. A fixed 30 s margin wrote nothing under 30 s.
func TestEveryDeadlineMakesProgress(t *testing.T) {
	for _, timeout := range []time.Duration{10 * time.Second, 30 * time.Second, 900 * time.Second} {
		t.Run(timeout.String(), func(t *testing.T) {
			f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
			seedFleet(t, f)
			sqsClient, url := withQueue(t, f)

			payload := sample(t, "direct-invocation.json", "")
			var first diskalarm.Result
			passes := 0
			for {
				if passes++; passes > 8 {
					t.Fatalf("the chain did not end after 8 passes")
				}
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				f.h.rec.Limiter = &slowWrites{cost: 2 * time.Second, now: time.Now()}
				out, err := f.h.Handle(ctx, payload)
				cancel()
				if err != nil {
					t.Fatalf("pass %d: Handle = %v", passes, err)
				}
				switch res := out.(type) {
				case diskalarm.Result:
					first = res
				case events.SQSEventResponse:
					if len(res.BatchItemFailures) != 0 {
						t.Errorf("pass %d: batch item failures %v", passes, res.BatchItemFailures)
					}
				}
				batch, ok := next(t, sqsClient, url)
				if !ok {
					break
				}
				payload = batch
			}
			switch {
			case first.Created == 0:
				t.Errorf("first pass with a %s deadline = %+v; want progress", timeout, first)
			case timeout == 10*time.Second && (!first.Incomplete || !first.Continued || passes < 2):
				t.Errorf("first pass with 10s = %+v, %d passes; want part written and the rest handed on", first, passes)
			case timeout > 10*time.Second && (first.Created != 8 || first.Incomplete || passes != 1):
				t.Errorf("first pass with %s = %+v, %d passes; want all 8 alarms in one pass", timeout, first, passes)
			}
			if n := f.calls.Count("CloudWatch.PutMetricAlarm"); n != 8 {
				t.Errorf("PutMetricAlarm calls over the chain = %d, want 8 (each alarm once)", n)
			}
			if n := len(diskalarmtest.Alarms(t, f.cw, prefix)); n != 8 {
				t.Errorf("alarms = %d, want 8", n)
			}
		})
	}
}

// blockingAlarms is a CloudWatch whose DescribeAlarms answers only when its
// context ends, as one that is far too slow would.
type blockingAlarms struct{ *cloudwatch.Client }

func (blockingAlarms) DescribeAlarms(ctx context.Context, _ *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("operation error CloudWatch: DescribeAlarms: %w", ctx.Err())
}

// A direct invocation that can make no progress at all answers with an
// error that says why, not with success, and writes nothing.
func TestDirectInvocationWithoutProgressSaysWhy(t *testing.T) {
	t.Run("no write fits before the margin", func(t *testing.T) {
		f := newFixture(t, nil)
		seedFleet(t, f)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		// One write takes longer than the whole budget.
		f.h.rec.Limiter = &slowWrites{cost: 9 * time.Second}
		_, err := f.h.Handle(ctx, sample(t, "direct-invocation.json", ""))
		if !errors.Is(err, diskalarm.ErrOutOfTime) {
			t.Fatalf("Handle = %v, want an out-of-time error", err)
		}
		for _, part := range []string{"no alarm write", "8 ", "10s", deadline.Margin(10 * time.Second).String(), "raise the function's timeout"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error %q does not say %q", err, part)
			}
		}
		if w := f.calls.Writes(); len(w) != 0 {
			t.Errorf("writes = %v, want none", w)
		}
	})
	t.Run("the reads outlast the budget", func(t *testing.T) {
		f := newFixture(t, nil)
		seedFleet(t, f)
		f.h.rec.CloudWatch = blockingAlarms{cloudwatch.NewFromConfig(countedConfig(f))}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := f.h.Handle(ctx, sample(t, "direct-invocation.json", ""))
		if !errors.Is(err, diskalarm.ErrOutOfTime) || ctx.Err() != nil {
			t.Fatalf("Handle = %v (invocation context %v), want an out-of-time error before the deadline", err, ctx.Err())
		}
		for _, part := range []string{"describe alarms", "before the deadline", "raise the function's timeout"} {
			if !strings.Contains(err.Error(), part) {
				t.Errorf("error %q does not say %q", err, part)
			}
		}
		if w := f.calls.Writes(); len(w) != 0 {
			t.Errorf("writes = %v, want none", w)
		}
	})
}
