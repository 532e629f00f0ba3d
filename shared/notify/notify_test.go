package notify

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

func TestStructured(t *testing.T) {
	m := Message{Subject: "Health gate failed a deployment", Body: "The health gate failed job 1.\n\nWhat to do: wait."}
	s, err := Structured(m)
	if err != nil {
		t.Fatal(err)
	}
	var byProtocol map[string]string
	if err := json.Unmarshal([]byte(s), &byProtocol); err != nil {
		t.Fatalf("Structured = %q, not a JSON object of strings: %v", s, err)
	}
	for _, p := range []string{"default", "email"} {
		if byProtocol[p] != m.Body {
			t.Errorf("%s message = %q, want the body", p, byProtocol[p])
		}
	}
	var chat chatMessage
	if err := json.Unmarshal([]byte(byProtocol["https"]), &chat); err != nil {
		t.Fatalf("https message %q is not JSON: %v", byProtocol["https"], err)
	}
	want := chatMessage{Version: "1.0", Source: "custom", Content: chatContent{TextType: "client-markdown", Title: m.Subject, Description: m.Body}}
	if chat != want {
		t.Errorf("chat notification = %+v, want %+v", chat, want)
	}
}

func TestSubject(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "Stage retry: retried web-app/Deploy", "Stage retry: retried web-app/Deploy"},
		{"plain approval", "Approve sharing of AMI build web 1.0.0", "Approve sharing of AMI build web 1.0.0"},
		{"a line break cannot add a header", "Approve build\nBcc: someone", "Approve build?Bcc: someone"},
		{"newlines and non-ASCII", "gave up\r\non café", "gave up??on caf?"},
		{"non-ASCII", "Approve büild", "Approve b?ild"},
		{"invalid UTF-8", "web \xff", "web ?"},
		{"empty", " ", "lambda-suite"},
		{"long", strings.Repeat("x", 150), strings.Repeat("x", 97) + "..."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Subject(tt.in); got != tt.want {
				t.Errorf("Subject(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNoTopicSendsNothing(t *testing.T) {
	var n *Notifier
	if err := n.Send(t.Context(), Message{Subject: "x"}); err != nil {
		t.Errorf("nil Notifier Send = %v, want nil", err)
	}
	if err := (&Notifier{}).Send(t.Context(), Message{Subject: "x"}); err != nil {
		t.Errorf("Notifier without topic Send = %v, want nil", err)
	}
}

// recorder is an SNS that keeps what it was asked to publish.
type recorder struct {
	in  []*sns.PublishInput
	err error
}

func (r *recorder) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	r.in = append(r.in, in)
	if r.err != nil {
		return nil, r.err
	}
	return &sns.PublishOutput{MessageId: aws.String("m-1")}, nil
}

func TestPublishSendsThePlainTextWithAnSNSSubject(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	const topic = "arn:aws:sns:us-east-1:123456789012:approvers"
	body := "Build:   web 1.0.0\nReview and decide: https://approvals.example.com/?token=x\n"
	id, err := Publish(t.Context(), rec, topic, Message{Subject: "Approve build\nweb", Body: body})
	if err != nil || id != "m-1" {
		t.Fatalf("Publish = %q, %v; want m-1, nil", id, err)
	}
	in := rec.in[0]
	if aws.ToString(in.TopicArn) != topic || aws.ToString(in.Subject) != "Approve build?web" || aws.ToString(in.Message) != body || in.MessageStructure != nil {
		t.Errorf("published %+v; want the body as written, the subject on one line, no message structure", in)
	}

	rec.err = errors.New("throttled")
	if _, err := Publish(t.Context(), rec, topic, Message{Subject: "x", Body: "y"}); err == nil || !errors.Is(err, rec.err) || !strings.Contains(err.Error(), topic) {
		t.Errorf("Publish error = %v; want it to wrap SNS's and name the topic", err)
	}
}

func TestSendPublishesTheStructuredMessage(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	n := &Notifier{SNS: rec, TopicARN: "arn:aws:sns:us-east-1:123456789012:ops"}
	m := Message{Subject: "Stage retry: gave up", Body: "Why: it failed."}
	if err := n.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	want, _ := Structured(m)
	if in := rec.in[0]; aws.ToString(in.Message) != want || aws.ToString(in.MessageStructure) != "json" || aws.ToString(in.Subject) != m.Subject {
		t.Errorf("published %+v; want the structured message", in)
	}
}
