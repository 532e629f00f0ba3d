// Package mail sends the suite's emails with Amazon SES (API v2,
// SendEmail): one message to one recipient, with an HTML and a text body,
// from one verified identity.
//
// SendEmail with Simple content: SES builds the MIME message
// (multipart/alternative of the text and the HTML), so no header of ours
// can be malformed. The message carries no List-Unsubscribe header and no
// unsubscribe link: SES adds those only with ListManagementOptions (a
// contact list), which Send never sets, so a mail scanner that follows
// every link cannot unsubscribe anyone (SES API v2 reference, SendEmail,
// ListManagementOptions:
// https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html).
//
// IAM: ses:SendEmail (SES v2 shares the ses prefix with v1) on the sending
// identity (resource type identity, arn:${Partition}:ses:${Region}:${Account}:identity/${IdentityName};
// configuration-set too when one is given), narrowed with the condition key
// ses:FromAddress (the "From" address) to the one sender: Service
// Authorization Reference,
// https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsimpleemailservicev2.html,
// and the SES Developer Guide,
// https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html. The
// identity is the address itself when it is a verified identity, else its
// domain's (SES: an address of a verified domain may send without its own
// identity, and SendEmail's FromEmailAddressIdentityArn example names
// identity/example.com for sender@example.com).
//
// moto 5.2.1 answers SendEmail (Simple and Raw; Template is not
// implemented) and refuses a sender that is not an identity of the account
// (MessageRejected). It keeps only one body of a Simple message (the HTML
// when both are given), so tests read what was sent through
// shared/testkit/sestest, which records the requests moto accepted.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
)

// API is the SES v2 call a Sender makes.
type API interface {
	SendEmail(context.Context, *sesv2.SendEmailInput, ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

var _ API = (*sesv2.Client)(nil)

// Email is one message to one recipient.
type Email struct {
	To      string
	Subject string
	HTML    string
	Text    string
}

// Sender sends from one verified identity.
type Sender struct {
	SES API
	// From is the sender's address (APPROVAL_FROM): ParseAddress's form.
	From string
	// ConfigurationSet is the SES configuration set, or "".
	ConfigurationSet string
}

// Send sends e and returns SES's message ID. An email that is not whole
// (no recipient, subject or either body, or a header that would break a
// line) is an error before SES is asked; Refused tells SES's refusals
// from failures a retry can help.
func (s *Sender) Send(ctx context.Context, e Email) (string, error) {
	if err := e.check(); err != nil {
		return "", err
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.From),
		Destination:      &types.Destination{ToAddresses: []string{e.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(e.Subject), Charset: aws.String("UTF-8")},
			Body: &types.Body{
				Html: &types.Content{Data: aws.String(e.HTML), Charset: aws.String("UTF-8")},
				Text: &types.Content{Data: aws.String(e.Text), Charset: aws.String("UTF-8")},
			},
		}},
	}
	if s.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.ConfigurationSet)
	}
	out, err := s.SES.SendEmail(ctx, in)
	if err != nil {
		return "", fmt.Errorf("send email to %s: %w", e.To, err)
	}
	return aws.ToString(out.MessageId), nil
}

func (e Email) check() error {
	if _, err := ParseAddress(e.To); err != nil {
		return fmt.Errorf("email recipient: %w", err)
	}
	switch {
	case strings.TrimSpace(e.Subject) == "" || strings.ContainsAny(e.Subject, "\r\n"):
		return fmt.Errorf("email to %s: the subject is empty or spans lines", e.To)
	case e.HTML == "" || e.Text == "":
		return fmt.Errorf("email to %s: both an HTML and a text body are required", e.To)
	}
	return nil
}

// ParseAddress accepts a bare email address ("alice@example.com", no
// display name, no angle brackets), as RFC 5322 parses it, with a domain
// that has a dot; it is the rule for every address the suite reads from
// its settings.
func ParseAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", fmt.Errorf("%q is not a bare email address (user@example.com)", clip(s))
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", fmt.Errorf("%q: the domain %q is not a mail domain", clip(s), domain)
	}
	return a.Address, nil
}

// Refused reports whether SES refused the email for a reason a retry does
// not mend (the sender is not verified, the message or a parameter was
// rejected, the account or configuration set cannot send), as opposed to
// a throttle or an outage.
func Refused(err error) bool {
	var (
		rejected *types.MessageRejected
		mailFrom *types.MailFromDomainNotVerifiedException
		bad      *types.BadRequestException
		notFound *types.NotFoundException
		paused   *types.SendingPausedException
		susp     *types.AccountSuspendedException
	)
	return errors.As(err, &rejected) || errors.As(err, &mailFrom) || errors.As(err, &bad) ||
		errors.As(err, &notFound) || errors.As(err, &paused) || errors.As(err, &susp)
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120]
	}
	return s
}
