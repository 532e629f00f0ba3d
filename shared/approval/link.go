package approval

import (
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Errors of ParseLinkRequest besides ErrUnknownToken, each answered with its
// own status page.
var (
	ErrMethod      = errors.New("method not allowed")  // 405
	ErrNoToken     = errors.New("no token")            // 400
	ErrBadDecision = errors.New("bad decision")        // 400
	ErrBadForm     = errors.New("bad form submission") // 400
)

// maxFormBytes bounds a POST body: the form holds a 43-character token and
// a decision.
const maxFormBytes = 1024

// maxUserAgent bounds the user agent kept in audit records.
const maxUserAgent = 512

// LinkRequest is a request to the approval page, as the function needs it.
type LinkRequest struct {
	Method   string // GET or POST
	Token    Token
	Decision string // POST only: Approve or Reject
	Who      Who
}

// ParseLinkRequest reads an API Gateway HTTP API request (payload 2.0): GET
// with ?token=…, or POST with a form of token and decision. A malformed
// token is ErrUnknownToken, answered like an unknown one.
func ParseLinkRequest(req events.APIGatewayV2HTTPRequest) (LinkRequest, error) {
	ua := req.RequestContext.HTTP.UserAgent
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	lr := LinkRequest{
		Method: req.RequestContext.HTTP.Method,
		Who:    Who{SourceIP: req.RequestContext.HTTP.SourceIP, UserAgent: strings.ToValidUTF8(ua, "?")},
	}
	var fields url.Values
	switch lr.Method {
	case http.MethodGet:
		q, err := url.ParseQuery(req.RawQueryString)
		if err != nil {
			return lr, fmt.Errorf("%w: query: %v", ErrUnknownToken, err)
		}
		fields = q
	case http.MethodPost:
		form, err := parseForm(req)
		if err != nil {
			return lr, err
		}
		fields = form
		decision, err := single(form, "decision", ErrBadDecision)
		if err != nil {
			return lr, err
		}
		if decision != Approve && decision != Reject {
			return lr, fmt.Errorf("%w: %q is neither %s nor %s", ErrBadDecision, awsid.Clip(decision, 120), Approve, Reject)
		}
		lr.Decision = decision
	default:
		return lr, fmt.Errorf("%w: %s", ErrMethod, awsid.Clip(lr.Method, 120))
	}
	raw, err := single(fields, "token", ErrUnknownToken)
	if err != nil {
		return lr, err
	}
	if lr.Token, err = ParseToken(raw); err != nil {
		return lr, err
	}
	return lr, nil
}

// parseForm reads an application/x-www-form-urlencoded body, which API
// Gateway hands over base64-encoded.
func parseForm(req events.APIGatewayV2HTTPRequest) (url.Values, error) {
	ct := header(req.Headers, "content-type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: content type %q, want application/x-www-form-urlencoded", ErrBadForm, awsid.Clip(ct, 120))
	}
	body := req.Body
	if req.IsBase64Encoded {
		if base64.StdEncoding.DecodedLen(len(body)) > maxFormBytes*2 {
			return nil, fmt.Errorf("%w: body over %d bytes", ErrBadForm, maxFormBytes)
		}
		b, err := base64.StdEncoding.DecodeString(body)
		if err != nil {
			return nil, fmt.Errorf("%w: body is not base64", ErrBadForm)
		}
		body = string(b)
	}
	if len(body) > maxFormBytes {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrBadForm, maxFormBytes)
	}
	form, err := url.ParseQuery(body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadForm, err)
	}
	return form, nil
}

// single returns the one value of a field; none is missing, and several are
// refused rather than guessed between.
func single(v url.Values, name string, bad error) (string, error) {
	switch vals := v[name]; {
	case len(vals) == 0 || vals[0] == "":
		if name == "token" {
			return "", ErrNoToken
		}
		return "", fmt.Errorf("%w: no %s", bad, name)
	case len(vals) > 1:
		return "", fmt.Errorf("%w: %d values of %s", bad, len(vals), name)
	default:
		return vals[0], nil
	}
}

// header reads a header from API Gateway's map, whose names are lower case.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
