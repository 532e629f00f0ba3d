// Package notify tells people when the suite did something that matters:
// one SNS message per event, to a topic the operator routes to email, to
// Slack or Microsoft Teams (AWS Chatbot, now Amazon Q Developer in chat
// applications), or anywhere else SNS delivers. No topic, no message.
package notify

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// publishAPI is the one SNS call the package makes.
type publishAPI interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ publishAPI = (*sns.Client)(nil)

// Message is one notification. Subject says what happened in a line; Body
// says what happened, with its IDs and links, and what to do.
type Message struct {
	Subject string
	Body    string
}

// SNS limits: a subject of at most 100 printable ASCII characters on one
// line; a message of at most 256 KB.
const (
	maxSubject = 100
	maxBody    = 200_000
)

// Notifier publishes to one topic. A nil Notifier, or one without a topic,
// sends nothing.
type Notifier struct {
	SNS      publishAPI
	TopicARN string
	Log      *slog.Logger
}

// TopicFromEnv validates an optional topic ARN (NOTIFY_TOPIC_ARN): empty
// means no notifications.
func TopicFromEnv(s string) error {
	if s == "" {
		return nil
	}
	_, err := awsid.ParseSNSTopicARN(s)
	return err
}

// Send publishes m. A failure is logged and returned; callers log and go
// on, since a notification must never change what the suite did.
func (n *Notifier) Send(ctx context.Context, m Message) error {
	if n == nil || n.TopicARN == "" {
		return nil
	}
	_, err := n.SNS.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(n.TopicARN),
		Subject:  aws.String(Subject(m.Subject)),
		Message:  aws.String(awsid.Clip(m.Body, maxBody)),
	})
	if err != nil {
		err = fmt.Errorf("publish notification to %s: %w", n.TopicARN, err)
		if n.Log != nil {
			n.Log.WarnContext(ctx, "notification not sent", "subject", m.Subject, "error", err.Error())
		}
		return err
	}
	if n.Log != nil {
		n.Log.InfoContext(ctx, "notification sent", "subject", m.Subject)
	}
	return nil
}

// Subject makes s an SNS subject: printable ASCII on one line, at most 100
// characters, never empty.
func Subject(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case r > unicode.MaxASCII || !unicode.IsPrint(r):
			return '?'
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if len(s) > maxSubject {
		s = s[:maxSubject-3] + "..."
	}
	if s == "" {
		s = "lambda-suite"
	}
	return s
}

// HealthEventLink is the AWS Health Dashboard page of an event.
func HealthEventLink(eventARN string) string {
	return "https://health.aws.amazon.com/health/home#/account/event-log?eventID=" + eventARN + "&eventTab=details"
}
