// Package notifytest gives a test a notification topic in moto and reads
// what was published to it through an SQS subscription.
package notifytest

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// New makes a topic in a fresh moto account, a Notifier publishing to it,
// and an SQS queue subscribed to it.
func New(tb testing.TB, log *slog.Logger) (*notify.Notifier, *approvaltest.Inbox) {
	tb.Helper()
	cfg, _ := awstest.Moto(tb).Config(tb)
	snsc := sns.NewFromConfig(cfg)
	topic := approvaltest.CreateTopic(tb, snsc, "lambda-suite-notifications")
	return &notify.Notifier{SNS: snsc, TopicARN: topic, Log: log}, approvaltest.NewInbox(tb, snsc, sqs.NewFromConfig(cfg), topic)
}

// CheckOne asserts that the inbox holds exactly one message, with subject,
// whose body names each of parts, and takes it out.
func CheckOne(tb testing.TB, inbox *approvaltest.Inbox, subject string, parts ...string) {
	tb.Helper()
	msgs := inbox.Receive(tb)
	if len(msgs) != 1 {
		tb.Fatalf("messages = %d (%+v), want exactly 1", len(msgs), msgs)
	}
	if msgs[0].Subject != subject {
		tb.Errorf("subject = %q, want %q (body %q)", msgs[0].Subject, subject, msgs[0].Body)
	}
	for _, part := range parts {
		if !strings.Contains(msgs[0].Body, part) {
			tb.Errorf("body %q does not say %q", msgs[0].Body, part)
		}
	}
}

// CheckNone asserts that nothing was published.
func CheckNone(tb testing.TB, inbox *approvaltest.Inbox) {
	tb.Helper()
	if msgs := inbox.Receive(tb); len(msgs) != 0 {
		tb.Errorf("messages = %+v, want none", msgs)
	}
}
