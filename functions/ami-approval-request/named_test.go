package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/mail"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sestest"
)

var namedLink = regexp.MustCompile(regexp.QuoteMeta(approvalURL) + `\?token=([A-Za-z0-9_-]{43})`)

// named turns the fixture's requester to named approvers, sending with SES
// under the function's role (a sestest Recorder in front of its IAM layer).
func (f fixture) named(t *testing.T, from string, approvers ...approval.Approver) *sestest.Recorder {
	t.Helper()
	sestest.Identity(t, sesv2.NewFromConfig(f.env.Cfg), approvaltest.SESIdentity)
	rec := sestest.New(t, aws.ToString(f.role.Config.BaseEndpoint))
	f.h.requests.Named = approval.Named{Approvers: approvers, From: from, Quorum: 2}
	f.h.requests.Mail = &mail.Sender{SES: sesv2.NewFromConfig(f.role.Config, rec.Options), From: from}
	return rec
}

var three = []approval.Approver{{Email: "alice@example.com", Name: "Alice"}, {Email: "bob@example.com"}, {Email: "carol@example.com"}}

// TestNamedApproversEachGetTheirOwnEmail: with APPROVERS, the build's
// request is emailed to each approver through SES, as the function's role
// may (ses:SendEmail from APPROVAL_FROM), each with a link of their own;
// nothing goes to the approver topic; a redelivery sends nothing more.
func TestNamedApproversEachGetTheirOwnEmail(t *testing.T) {
	f := newFixture(t)
	rec := f.named(t, approvaltest.From, three...)
	ev := f.built(t, sample(t, "available-single-region.json"))
	f.handle(t, ev, approval.Requested)
	f.handle(t, ev, approval.Duplicate)

	links := map[string]bool{}
	for _, a := range three {
		mails := rec.SentTo(a.Email)
		if len(mails) != 1 {
			t.Fatalf("emails to %s = %d, want 1", a.Email, len(mails))
		}
		m := mails[0]
		if len(m.To) != 1 || m.From != approvaltest.From || m.HTML == "" || m.Text == "" {
			t.Errorf("email to %s: to %v from %q, HTML %d, text %d bytes", a.Email, m.To, m.From, len(m.HTML), len(m.Text))
		}
		if !strings.Contains(m.Text, "This link is yours alone, "+a.Label()) || !strings.Contains(m.Text, "accounts 111111111111, 222222222222") {
			t.Errorf("email to %s does not name its approver or the targets:\n%s", a.Email, m.Text)
		}
		if strings.Contains(strings.ToLower(m.HTML+m.Text), "unsubscribe") || len(m.Headers["List-Unsubscribe"]) > 0 {
			t.Errorf("email to %s carries an unsubscribe link", a.Email)
		}
		l := namedLink.FindStringSubmatch(m.Text)
		if l == nil || links[l[1]] {
			t.Fatalf("email to %s: no link of its own:\n%s", a.Email, m.Text)
		}
		links[l[1]] = true
	}
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("approver topic messages = %d, want 0", n)
	}
}

// TestNamedEmailOnlyFromTheConfiguredSender: the role may send only from
// APPROVAL_FROM (ses:FromAddress); from another address SES is never
// reached, the claim is given back and the error asks for a retry.
func TestNamedEmailOnlyFromTheConfiguredSender(t *testing.T) {
	f := newFixture(t)
	rec := f.named(t, "other@example.com", three...)
	ev := f.built(t, sample(t, "available-single-region.json"))
	if _, err := f.h.Handle(context.Background(), ev); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("Handle error = %v, want AccessDenied", err)
	}
	if n := len(rec.Sent()); n != 0 {
		t.Errorf("emails sent = %d, want 0", n)
	}
}
