// Package notify tells people when the suite did something that matters:
// one SNS message per event, to a topic the operator routes to email, to
// Slack or Microsoft Teams (AWS Chatbot, now Amazon Q Developer in chat
// applications), or anywhere else SNS delivers. No topic, no message.
//
// It is the suite's one SNS publisher: Notifier.Send (the operators'
// notifications, structured for email and chat) and Publish (the approval
// flow's plain-text emails) both go through publish, which makes the
// subject an SNS subject (Subject) and names the topic in the error.
package notify

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// PublishAPI is the one SNS call the package makes.
type PublishAPI interface {
	Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ PublishAPI = (*sns.Client)(nil)

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
	maxBody    = 100_000
	// maxChat keeps a chat message short enough for Slack and Teams.
	maxChat = 8_000
)

// Notifier publishes to one topic. A nil Notifier, or one without a topic,
// sends nothing.
type Notifier struct {
	SNS      PublishAPI
	TopicARN string
	Log      *slog.Logger // slog.Default() when nil
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

// Enabled says whether Send publishes anything: a nil Notifier, or one
// without a topic, sends nothing.
func (n *Notifier) Enabled() bool { return n != nil && n.TopicARN != "" }

// Send publishes m. A failure is logged and returned; callers log and go
// on, since a notification must never change what the suite did.
func (n *Notifier) Send(ctx context.Context, m Message) error {
	if !n.Enabled() {
		return nil
	}
	msg, err := Structured(m)
	if err != nil {
		return err
	}
	if _, err := publish(ctx, n.SNS, n.TopicARN, m.Subject, msg, "json"); err != nil {
		n.logger().WarnContext(ctx, "notification not sent", "subject", m.Subject, "error", err.Error())
		return err
	}
	n.logger().InfoContext(ctx, "notification sent", "subject", m.Subject)
	return nil
}

// Publish sends m to topic as plain text, as SNS email subscriptions
// deliver it: the body as written, the subject made an SNS subject
// (Subject). It returns SNS's message ID; the error names the topic.
func Publish(ctx context.Context, api PublishAPI, topic string, m Message) (messageID string, err error) {
	return publish(ctx, api, topic, m.Subject, m.Body, "")
}

// publish is every SNS publish of the suite: message goes out as it is, or
// per protocol when structure is "json" (Structured).
func publish(ctx context.Context, api PublishAPI, topic, subject, message, structure string) (string, error) {
	in := &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String(Subject(subject)), Message: aws.String(message)}
	if structure != "" {
		in.MessageStructure = aws.String(structure)
	}
	out, err := api.Publish(ctx, in)
	if err != nil {
		return "", fmt.Errorf("publish to %s: %w", topic, err)
	}
	return aws.ToString(out.MessageId), nil
}

// chatMessage is a custom notification of Amazon Q Developer in chat
// applications (formerly AWS Chatbot), which delivers nothing else that is
// not an AWS service's own event: version 1.0, source "custom".
type chatMessage struct {
	Version string      `json:"version"`
	Source  string      `json:"source"`
	Content chatContent `json:"content"`
}

type chatContent struct {
	TextType    string `json:"textType"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

// Structured renders m for SNS's MessageStructure "json": the text for
// email, SQS and every other protocol ("default"), and a custom
// notification for AWS Chatbot, which subscribes over HTTPS ("https").
func Structured(m Message) (string, error) {
	body := awsid.Clip(m.Body, maxBody)
	chat, err := json.Marshal(chatMessage{Version: "1.0", Source: "custom",
		Content: chatContent{TextType: "client-markdown", Title: Subject(m.Subject), Description: awsid.Clip(m.Body, maxChat)}})
	if err != nil {
		return "", fmt.Errorf("encode chat notification: %w", err)
	}
	out, err := json.Marshal(map[string]string{"default": body, "email": body, "https": string(chat)})
	if err != nil {
		return "", fmt.Errorf("encode notification: %w", err)
	}
	return string(out), nil
}

// Subject makes s an SNS subject: printable ASCII on one line, at most 100
// characters, never empty. Every other character (a line break, a control
// character, any non-ASCII one, invalid UTF-8) becomes '?', so text from
// outside (a build's name) cannot add a header line or pass for another.
func Subject(s string) string {
	s = strings.Map(func(r rune) rune {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) {
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

func (n *Notifier) logger() *slog.Logger { return cmp.Or(n.Log, slog.Default()) }
