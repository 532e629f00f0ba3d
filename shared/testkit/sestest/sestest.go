// Package sestest lets a test read the emails the code under test sent
// with Amazon SES v2 (SendEmail), and verify the identities it sends from.
//
// What moto 5.2.1 offers, and why this package records instead: moto
// answers SendEmail (Simple and Raw content; Template is not implemented),
// refuses a sender that is not an identity of the account
// (MessageRejected: an address is accepted when it, or its domain, was
// created with CreateEmailIdentity; moto marks them verified at once), and
// keeps what it accepted in the SES backend's sent_messages. A test can
// read those only through /moto-api/data.json, which dumps every model of
// every account (about 5 MB and 6 s on a moto that has served EC2's images)
// and keeps only one body of a Simple message (the HTML when both are
// given). So a Recorder stands in front of moto (or of the IAM layer in
// front of it), passes every request on, and records each SendEmail that
// was answered 200, as the client sent it: from, recipients, subject, both
// bodies and any headers. moto still decides what is accepted.
//
// Start is the error-returning core (scripts/local can start it too); New
// is the testing.TB wrapper.
package sestest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httputil"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/ebs-ops/lambda-suite/shared/testkit/wirefake"
)

// Email is one email SES accepted.
type Email struct {
	MessageID string
	// From is FromEmailAddress (for Raw content without it, the From header).
	From        string
	To, Cc, Bcc []string
	Subject     string
	HTML, Text  string
	// Headers are the headers the request set: Simple content's Headers,
	// or every header of a Raw message.
	Headers map[string][]string
	// Raw: the request sent Raw content (a whole MIME message).
	Raw bool
}

// Recorder passes requests to an SES endpoint and records the emails
// accepted.
type Recorder struct {
	*wirefake.Server
	proxy *httputil.ReverseProxy
	mu    sync.Mutex
	sent  []Email
	errs  []error
}

// Start starts a Recorder in front of upstream (moto's URL, or the IAM
// layer's).
func Start(upstream string) (*Recorder, error) {
	u, err := url.Parse(upstream)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("upstream %q is not a URL", upstream)
	}
	r := &Recorder{proxy: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host // as signed
	}}}
	if r.Server, err = wirefake.Serve(http.HandlerFunc(r.serve)); err != nil {
		return nil, err
	}
	return r, nil
}

// New starts a Recorder and stops it when the test ends; a SendEmail the
// Recorder could not read fails the test then.
func New(tb testing.TB, upstream string) *Recorder {
	tb.Helper()
	r := wirefake.ForTest(tb, func() (*Recorder, error) { return Start(upstream) })
	tb.Cleanup(func() {
		for _, err := range r.Errors() {
			tb.Errorf("sestest: %v", err)
		}
	})
	return r
}

// Options points an SES v2 client at the Recorder:
// sesv2.NewFromConfig(cfg, rec.Options).
func (r *Recorder) Options(o *sesv2.Options) { o.BaseEndpoint = aws.String(r.URL) }

// Sent returns the emails accepted so far, in order.
func (r *Recorder) Sent() []Email {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Email(nil), r.sent...)
}

// SentTo returns the accepted emails with address among their recipients.
func (r *Recorder) SentTo(address string) []Email {
	var out []Email
	for _, e := range r.Sent() {
		for _, to := range append(append(append([]string(nil), e.To...), e.Cc...), e.Bcc...) {
			if strings.EqualFold(to, address) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// Errors are the accepted SendEmail requests the Recorder could not read.
func (r *Recorder) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// capture is a ResponseWriter that keeps the status and the body.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(s int) { c.status = s; c.ResponseWriter.WriteHeader(s) }
func (c *capture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	c := &capture{ResponseWriter: w}
	r.proxy.ServeHTTP(c, req)
	op := req.Method + " " + req.URL.Path
	r.Add(wirefake.Call{Op: op, Region: wirefake.SigningRegion(req)})
	if req.Method != http.MethodPost || req.URL.Path != "/v2/email/outbound-emails" || c.status != http.StatusOK {
		return
	}
	e, err := readSendEmail(body, c.body.Bytes())
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errs = append(r.errs, err)
		return
	}
	r.sent = append(r.sent, e)
}

// sendEmailRequest is the REST-JSON body of SES v2 SendEmail (member
// names as the API reference gives them).
type sendEmailRequest struct {
	FromEmailAddress string
	Destination      struct{ ToAddresses, CcAddresses, BccAddresses []string }
	Content          struct {
		Simple *struct {
			Subject struct{ Data string }
			Body    struct {
				Text, Html *struct{ Data string }
			}
			Headers []struct{ Name, Value string }
		}
		Raw *struct{ Data []byte }
	}
}

func readSendEmail(body, answer []byte) (Email, error) {
	var in sendEmailRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return Email{}, fmt.Errorf("SendEmail body is not JSON: %w", err)
	}
	var out struct{ MessageId string }
	_ = json.Unmarshal(answer, &out)
	e := Email{MessageID: out.MessageId, From: in.FromEmailAddress, To: in.Destination.ToAddresses, Cc: in.Destination.CcAddresses, Bcc: in.Destination.BccAddresses, Headers: map[string][]string{}}
	switch c := in.Content; {
	case c.Simple != nil:
		e.Subject = c.Simple.Subject.Data
		if c.Simple.Body.Html != nil {
			e.HTML = c.Simple.Body.Html.Data
		}
		if c.Simple.Body.Text != nil {
			e.Text = c.Simple.Body.Text.Data
		}
		for _, h := range c.Simple.Headers {
			e.Headers[h.Name] = append(e.Headers[h.Name], h.Value)
		}
		return e, nil
	case c.Raw != nil:
		e.Raw = true
		return e, readMIME(&e, c.Raw.Data)
	}
	return Email{}, fmt.Errorf("SendEmail %s: neither Simple nor Raw content (Template is not read)", out.MessageId)
}

// readMIME fills e from a raw message: its headers, and the text/plain and
// text/html parts of a single-part or multipart body.
func readMIME(e *Email, raw []byte) error {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("raw message: %w", err)
	}
	for k, v := range m.Header {
		e.Headers[k] = v
	}
	dec := new(mime.WordDecoder)
	if e.Subject, err = dec.DecodeHeader(m.Header.Get("Subject")); err != nil {
		return fmt.Errorf("raw message Subject: %w", err)
	}
	if e.From == "" {
		e.From = m.Header.Get("From")
	}
	if len(e.To) == 0 {
		if list, err := m.Header.AddressList("To"); err == nil {
			for _, a := range list {
				e.To = append(e.To, a.Address)
			}
		}
	}
	return readPart(e, m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body)
}

// readPart reads one part; multipart.Reader decodes quoted-printable
// parts itself, and base64 ones are decoded here.
func readPart(e *Email, contentType, encoding string, body io.Reader) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		mediaType = "text/plain"
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart() // decodes quoted-printable parts
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("raw message part: %w", err)
			}
			if err := readPart(e, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	if strings.EqualFold(strings.TrimSpace(encoding), "base64") {
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("raw message %s part: %w", mediaType, err)
	}
	switch mediaType {
	case "text/html":
		e.HTML = string(b)
	case "text/plain":
		e.Text = string(b)
	}
	return nil
}

// MakeIdentity creates an SES identity (an email address or a domain) in
// the client's account: moto counts it verified at once (on AWS a domain
// needs its DKIM records, an address its confirmation click).
func MakeIdentity(ctx context.Context, c *sesv2.Client, identity string) error {
	_, err := c.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String(identity)})
	if err != nil {
		return fmt.Errorf("create the SES identity %s: %w", identity, err)
	}
	return nil
}

// Identity is MakeIdentity for a test.
func Identity(tb testing.TB, c *sesv2.Client, identity string) {
	tb.Helper()
	if err := MakeIdentity(context.Background(), c, identity); err != nil {
		tb.Fatal(err)
	}
}
