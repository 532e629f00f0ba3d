package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// TestNoConfirmedApproverIsTold is finding 10 of issue 18: every SNS email
// carries an unsubscribe link, which the mail scanners the page guards
// against may follow, unsubscribing the approvers without anyone knowing.
// Each sweep asks SNS for the approver topic's subscriptions
// (ListSubscriptionsByTopic) and, when none is confirmed, counts it
// (ApproverTopicUnconfirmed) and tells the ops topic, once a day.
func TestNoConfirmedApproverIsTold(t *testing.T) {
	ctx := context.Background()
	env := approvaltest.New(t)
	h := newHandler(t, env, awstest.NewCalls())
	sweep := func(t *testing.T) (float64, []approvaltest.Message) {
		t.Helper()
		var out bytes.Buffer
		h.metrics = metrics.New("sweeper-fn", &out)
		if _, err := h.Handle(ctx, scheduled(t)); err != nil {
			t.Fatal(err)
		}
		return emf.Value(emf.Parse(t, out.Bytes()), "ApproverTopicUnconfirmed", ""), env.Ops.Receive(t)
	}

	if n, ops := sweep(t); n != 0 || len(ops) != 0 {
		t.Errorf("with a confirmed subscriber: ApproverTopicUnconfirmed = %v, ops messages %+v; want 0, none", n, ops)
	}
	// The scanner follows the unsubscribe link of an email.
	subs, err := env.SNS.ListSubscriptionsByTopic(ctx, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(env.ApproverTopic)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subs.Subscriptions {
		if _, err := env.SNS.Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: s.SubscriptionArn}); err != nil {
			t.Fatal(err)
		}
	}
	for i, wantOps := range []int{1, 0} { // told once, counted each time
		n, ops := sweep(t)
		if n != 1 || len(ops) != wantOps {
			t.Errorf("sweep %d without a confirmed subscriber: ApproverTopicUnconfirmed = %v, ops messages %d; want 1, %d", i+1, n, len(ops), wantOps)
		}
		if len(ops) == 1 && (!strings.Contains(ops[0].Subject, "no confirmed") || !strings.Contains(ops[0].Body, "AuthenticateOnUnsubscribe")) {
			t.Errorf("ops message = %+v, want it to say the approver topic has no confirmed subscriber, and how to resubscribe", ops[0])
		}
	}
}
