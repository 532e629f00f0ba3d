package sestest

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func client(t *testing.T) (*sesv2.Client, *Recorder) {
	t.Helper()
	cfg, _ := awstest.Moto(t).Config(t)
	rec := New(t, aws.ToString(cfg.BaseEndpoint))
	return sesv2.NewFromConfig(cfg, rec.Options), rec
}

// TestARawMessageIsReadWithBothBodies: moto accepts Raw content, and the
// Recorder reads its headers and both parts (one base64, one
// quoted-printable).
func TestARawMessageIsReadWithBothBodies(t *testing.T) {
	t.Parallel()
	c, rec := client(t)
	Identity(t, c, "example.com")
	raw := strings.ReplaceAll(`From: Approvals <approvals@example.com>
To: alice@example.org
Subject: =?UTF-8?Q?Approve_=E2=9C=93?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b1"

--b1
Content-Type: text/plain; charset=UTF-8
Content-Transfer-Encoding: base64

cGxhaW4gdGV4dA==
--b1
Content-Type: text/html; charset=UTF-8
Content-Transfer-Encoding: quoted-printable

<p>html =E2=9C=93</p>
--b1--
`, "\n", "\r\n")
	_, err := c.SendEmail(context.Background(), &sesv2.SendEmailInput{Content: &types.EmailContent{Raw: &types.RawMessage{Data: []byte(raw)}}})
	if err != nil {
		t.Fatal(err)
	}
	sent := rec.SentTo("alice@example.org")
	if len(sent) != 1 {
		t.Fatalf("SentTo = %+v, want one email", rec.Sent())
	}
	e := sent[0]
	if !e.Raw || e.Subject != "Approve ✓" || e.Text != "plain text" || e.HTML != "<p>html ✓</p>" || e.From != "Approvals <approvals@example.com>" || e.MessageID == "" {
		t.Errorf("recorded %+v, want the subject, both bodies, the sender and moto's message ID", e)
	}
}

// TestASenderThatIsNoIdentityIsRefusedAndNotRecorded: moto checks the
// sender (the address, or its domain, must be an identity).
func TestASenderThatIsNoIdentityIsRefusedAndNotRecorded(t *testing.T) {
	t.Parallel()
	c, rec := client(t)
	Identity(t, c, "sender@example.com")
	send := func(from string) error {
		_, err := c.SendEmail(context.Background(), &sesv2.SendEmailInput{
			FromEmailAddress: aws.String(from), Destination: &types.Destination{ToAddresses: []string{"bob@example.org"}},
			Content: &types.EmailContent{Simple: &types.Message{Subject: &types.Content{Data: aws.String("s")}, Body: &types.Body{Text: &types.Content{Data: aws.String("t")}}}},
		})
		return err
	}
	var rejected *types.MessageRejected
	if err := send("other@example.com"); err == nil || !errors.As(err, &rejected) {
		t.Errorf("SendEmail from an address that is no identity = %v, want MessageRejected", err)
	}
	if err := send("sender@example.com"); err != nil {
		t.Errorf("SendEmail from the identity = %v", err)
	}
	if got := rec.Sent(); len(got) != 1 || got[0].From != "sender@example.com" || got[0].Text != "t" {
		t.Errorf("Sent = %+v, want only the accepted email", got)
	}
}
