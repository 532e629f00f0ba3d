package signin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/proof"
)

// MAC makes and checks the cookies' MACs: shared/proof's Sealer over the
// stack's KMS HMAC key (PROOF_KEY_ARN), so no key of the page's own is made
// or kept.
type MAC interface {
	Seal(ctx context.Context, kind string, fields ...proof.Field) (string, error)
	Verify(ctx context.Context, kind, mac string, fields ...proof.Field) error
}

var _ MAC = (*proof.Sealer)(nil)

// Cookie names. The __Host- prefix makes the browser accept them only
// with Secure, Path=/ and no Domain, so no sibling host can plant or read
// one (RFC 6265bis, section 4.1.3.2).
const (
	FlowCookie    = "__Host-approval-signin"
	SessionCookie = "__Host-approval-session"
)

// The proof kinds of the two cookies: a flow cookie's MAC is not a
// session's.
const (
	flowKind    = "signin-flow"
	sessionKind = "signin-session"
)

// flow is what a sign-in carries from Begin to Finish, in its cookie.
type flow struct {
	State    string    `json:"s"`
	Nonce    string    `json:"n"`
	Verifier string    `json:"v"`
	ReturnTo string    `json:"r"`
	Expires  time.Time `json:"e"`
}

// fieldsOf is fields, read when called (after the cookie was decoded).
func (f *flow) fieldsOf() []proof.Field { return f.fields() }

func (f flow) fields() []proof.Field {
	return []proof.Field{proof.String("state", f.State), proof.String("nonce", f.Nonce), proof.String("verifier", f.Verifier), proof.String("returnTo", f.ReturnTo), proof.Time("expires", f.Expires)}
}

// session is a signed-in approver, in the session cookie.
type session struct {
	Email   string    `json:"m"`
	Expires time.Time `json:"e"`
}

func (s *session) fieldsOf() []proof.Field { return s.fields() }

func (s session) fields() []proof.Field {
	return []proof.Field{proof.String("email", s.Email), proof.Time("expires", s.Expires)}
}

// sealCookie makes a cookie whose value is the payload (base64url JSON),
// a dot and the payload fields' MAC: HttpOnly (no script reads it), Secure
// (https only), SameSite=Lax (sent on the top-level GET by which the
// provider returns the browser to the callback, never on a cross-site
// POST), expiring with the payload.
func sealCookie(ctx context.Context, mac MAC, name, kind string, payload any, fields []proof.Field, expires, now time.Time) (*http.Cookie, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	m, err := mac.Seal(ctx, kind, fields...)
	if err != nil {
		return nil, err
	}
	return &http.Cookie{
		Name: name, Value: base64.RawURLEncoding.EncodeToString(raw) + "." + m,
		Path: "/", Expires: expires.UTC(), MaxAge: int(math.Ceil(expires.Sub(now).Seconds())),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}, nil
}

// clearCookie deletes a cookie (Max-Age=0), with the same flags.
func clearCookie(name string) *http.Cookie {
	return &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode}
}

// openCookie reads the named cookie into payload and checks its MAC over
// fields(payload). It returns (false, nil) when there is no such cookie,
// proof's ErrTampered (wrapped) when the value is malformed or the MAC does
// not verify, and another error when KMS could not be asked.
func openCookie(ctx context.Context, mac MAC, cookies []string, name, kind string, payload any, fields func() []proof.Field) (bool, error) {
	v, ok := cookieValue(cookies, name)
	if !ok {
		return false, nil
	}
	body, m, ok := strings.Cut(v, ".")
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if !ok || err != nil || json.Unmarshal(raw, payload) != nil {
		return true, fmt.Errorf("%s: %w", kind, proof.ErrTampered)
	}
	return true, mac.Verify(ctx, kind, m, fields()...)
}

// cookieValue finds a cookie in Cookie header values ("a=1; b=2") or in
// API Gateway's list of cookies ("a=1", "b=2"). Two cookies of one name
// are refused as absent: which one the browser meant cannot be told.
func cookieValue(cookies []string, name string) (string, bool) {
	var found []string
	for _, line := range cookies {
		parsed, err := http.ParseCookie(line)
		if err != nil {
			continue
		}
		for _, c := range parsed {
			if c.Name == name {
				found = append(found, c.Value)
			}
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}
