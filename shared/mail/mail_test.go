package mail

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sestest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func sender(t *testing.T, from string) (*Sender, *sestest.Recorder, *sesv2.Client) {
	t.Helper()
	cfg, _ := awstest.Moto(t).Config(t)
	rec := sestest.New(t, aws.ToString(cfg.BaseEndpoint))
	c := sesv2.NewFromConfig(cfg, rec.Options)
	return &Sender{SES: c, From: from}, rec, c
}

var approval = Email{To: "alice@example.org", Subject: "Approve ami-0abc?", HTML: "<p>Open <a href=\"https://x/approve\">the page</a></p>", Text: "Open https://x/approve"}

// TestSendSendsBothBodiesAndNoUnsubscribe: one email, as given, with no
// unsubscribe header or link.
func TestSendSendsBothBodiesAndNoUnsubscribe(t *testing.T) {
	t.Parallel()
	s, rec, c := sender(t, "approvals@example.com")
	sestest.Identity(t, c, "example.com")
	id, err := s.Send(context.Background(), approval)
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.Sent()
	if len(sent) != 1 {
		t.Fatalf("Sent = %+v, want one email", sent)
	}
	e := sent[0]
	if e.MessageID != id || e.From != "approvals@example.com" || len(e.To) != 1 || e.To[0] != approval.To || e.Subject != approval.Subject || e.HTML != approval.HTML || e.Text != approval.Text {
		t.Errorf("sent %+v, want %+v from approvals@example.com with ID %s", e, approval, id)
	}
	for k := range e.Headers {
		if strings.EqualFold(k, "List-Unsubscribe") {
			t.Errorf("the email carries %s", k)
		}
	}
	if strings.Contains(strings.ToLower(e.HTML+e.Text), "unsubscribe") {
		t.Error("the email carries an unsubscribe link")
	}
}

// TestSendRefusesAnIncompleteEmailBeforeSES, and SES's refusal is Refused.
func TestSendRefusesAnIncompleteEmailBeforeSES(t *testing.T) {
	t.Parallel()
	s, rec, _ := sender(t, "approvals@unverified.example.com")
	for name, e := range map[string]Email{
		"no recipient":       {Subject: "s", HTML: "h", Text: "t"},
		"a display name":     {To: "Alice <alice@example.org>", Subject: "s", HTML: "h", Text: "t"},
		"no text":            {To: "alice@example.org", Subject: "s", HTML: "h"},
		"no HTML":            {To: "alice@example.org", Subject: "s", Text: "t"},
		"a subject on lines": {To: "alice@example.org", Subject: "s\r\nBcc: eve@example.org", HTML: "h", Text: "t"},
	} {
		if _, err := s.Send(context.Background(), e); err == nil {
			t.Errorf("Send(%s) = nil, want an error", name)
		}
	}
	if n := rec.Count("POST /v2/email/outbound-emails"); n != 0 {
		t.Errorf("%d SendEmail calls for incomplete emails, want 0", n)
	}
	_, err := s.Send(context.Background(), approval)
	if err == nil || !Refused(err) {
		t.Errorf("Send from an unverified sender = %v, want an error Refused reports", err)
	}
}

func TestParseAddress(t *testing.T) {
	for s, ok := range map[string]bool{
		"alice@example.com":                  true,
		"a.b+approvals@sub.example.org":      true,
		"Alice <alice@example.com>":          false,
		"<alice@example.com>":                false,
		"alice@localhost":                    false,
		"alice":                              false,
		"alice@example.com, bob@example.com": false,
		" alice@example.com":                 false,
		"":                                   false,
	} {
		if got, err := ParseAddress(s); (err == nil) != ok || (ok && got != s) {
			t.Errorf("ParseAddress(%q) = %q, %v, want ok %v", s, got, err, ok)
		}
	}
}
