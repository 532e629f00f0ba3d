package signin

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/oidctest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const callbackURL = "https://approve.example.com/signin/callback"

// rig is a Flow against a loopback provider, with the stack's HMAC key
// and table in moto, and a clock the test moves.
type rig struct {
	flow *Flow
	idp  *oidctest.Provider
	mu   sync.Mutex
	now  time.Time
}

func (r *rig) clock() time.Time { r.mu.Lock(); defer r.mu.Unlock(); return r.now }
func (r *rig) advance(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.now = r.now.Add(d)
}

func newRig(t *testing.T) *rig {
	t.Helper()
	cfg, _ := awstest.Moto(t).Config(t)
	db := dynamodb.NewFromConfig(cfg)
	awstest.CreateTable(t, db, "decisions", "expiresAt")
	k := kms.NewFromConfig(cfg)
	r := &rig{now: time.Now()}
	r.idp = oidctest.New(t, oidctest.Options{RedirectURIs: []string{callbackURL}, Now: r.clock})
	f, err := New(context.Background(), Config{
		Settings:     Settings{Issuer: r.idp.URL, ClientID: r.idp.ClientID(), ClientSecretARN: "unused"},
		ClientSecret: r.idp.ClientSecret(), RedirectURL: callbackURL,
		MAC:    &proof.Sealer{KMS: k, KeyID: awstest.HMACKey(t, k)},
		States: TableStates{DB: db, Table: "decisions"},
		Now:    r.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.flow = f
	return r
}

// noRedirects is a browser that stops at every redirect, so the test
// reads where it is sent.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorize begins a sign-in as email and follows the browser to the
// provider, returning the callback it is sent back with.
func (r *rig) authorize(t *testing.T, email string) Callback {
	t.Helper()
	r.idp.SignInAs(email)
	start, err := r.flow.Begin(context.Background(), "/approve?token=t1")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirects.Get(start.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), callbackURL+"?") {
		t.Fatalf("the provider answered %s to %s, Location %q", resp.Status, start.URL, resp.Header.Get("Location"))
	}
	q := loc.Query()
	return Callback{Code: q.Get("code"), State: q.Get("state"), Error: q.Get("error"), Cookies: []string{start.Cookie.Name + "=" + start.Cookie.Value}}
}

func cookieLines(cs []*http.Cookie) []string {
	var out []string
	for _, c := range cs {
		if c.MaxAge >= 0 {
			out = append(out, c.Name+"="+c.Value)
		}
	}
	return out
}

func reasonOf(err error) Reason {
	var r *Refused
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// TestASignedInEmailIsReturnedWhenEveryCheckHolds: the good path, and the
// session it leaves.
func TestASignedInEmailIsReturnedWhenEveryCheckHolds(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	res, err := r.flow.Finish(ctx, r.authorize(t, "alice@example.com"))
	if err != nil {
		t.Fatalf("Finish = %v, want the signed-in email", err)
	}
	if res.Email != "alice@example.com" || res.ReturnTo != "/approve?token=t1" || res.Subject == "" {
		t.Errorf("Finish = %+v, want alice@example.com returning to /approve?token=t1 with a subject", res)
	}
	s, err := r.flow.Session(ctx, cookieLines(res.Cookies))
	if err != nil || !s.Is("Alice@Example.com") || s.Is("bob@example.com") {
		t.Errorf("Session = %+v, %v, want alice's", s, err)
	}
	if !s.Expires.After(r.clock()) || s.Expires.After(r.clock().Add(DefaultSessionTTL)) {
		t.Errorf("Session expires %v, want within %v", s.Expires, DefaultSessionTTL)
	}
}

// TestTheCookiesAreHttpOnlySecureAndLax: both cookies, on the wire.
func TestTheCookiesAreHttpOnlySecureAndLax(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	start, err := r.flow.Begin(context.Background(), "/approve?token=t1")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.flow.Finish(context.Background(), r.authorize(t, "alice@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append([]*http.Cookie{start.Cookie}, res.Cookies...) {
		line := c.String()
		for _, want := range []string{"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
			if !strings.Contains(line, want) {
				t.Errorf("cookie %s lacks %s", line, want)
			}
		}
		if !strings.HasPrefix(c.Name, "__Host-") || strings.Contains(line, "Domain=") {
			t.Errorf("cookie %s: want the __Host- prefix and no Domain", line)
		}
	}
	if got := res.Cookies[0]; got.Name != SessionCookie || got.MaxAge != int(DefaultSessionTTL.Seconds()) {
		t.Errorf("session cookie = %s, want %s with Max-Age %d", got, SessionCookie, int(DefaultSessionTTL.Seconds()))
	}
	if got := res.Cookies[1]; got.Name != FlowCookie || got.MaxAge >= 0 {
		t.Errorf("second cookie = %s, want %s cleared", got, FlowCookie)
	}
}

// TestBeginSendsStateNonceAndPKCE: the authorization URL carries what
// Finish checks, and a return path off this host is refused.
func TestBeginSendsStateNonceAndPKCE(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	start, err := r.flow.Begin(context.Background(), "/approve?token=t1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(start.URL)
	q := u.Query()
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("authorization URL %s: %s = %q, want 32 random bytes or more", start.URL, k, q.Get(k))
		}
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != callbackURL || !strings.Contains(q.Get("scope"), "openid") {
		t.Errorf("authorization URL %s: want S256, the callback and scope openid", start.URL)
	}
	again, _ := r.flow.Begin(context.Background(), "/approve?token=t1")
	if again.URL == start.URL {
		t.Error("two sign-ins got one state")
	}
	for _, p := range []string{"//evil.example/x", `/\evil.example`, "https://evil.example/", "approve"} {
		if _, err := r.flow.Begin(context.Background(), p); err == nil {
			t.Errorf("Begin(%q) = nil, want refused", p)
		}
	}
}

// TestASpoiledIDTokenIsRefused: each fault of the token is caught, and no
// session is made.
func TestASpoiledIDTokenIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tests := []struct {
		name  string
		fault oidctest.Fault
		want  Reason
	}{
		{"forged signature", oidctest.Forged, ReasonTokenInvalid},
		{"expired", oidctest.Expired, ReasonTokenExpired},
		{"wrong audience", oidctest.WrongAudience, ReasonTokenInvalid},
		{"wrong issuer", oidctest.WrongIssuer, ReasonTokenInvalid},
		{"nonce mismatch", oidctest.WrongNonce, ReasonNonceMismatch},
		{"unverified email", oidctest.UnverifiedEmail, ReasonEmailUnverified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cb := r.authorize(t, "mallory@example.com")
			r.idp.Spoil(tt.fault)
			res, err := r.flow.Finish(context.Background(), cb)
			if got := reasonOf(err); got != tt.want {
				t.Errorf("Finish = %+v, %v, want refused: %s", res, err, tt.want)
			}
			if res.Email != "" || res.Cookies != nil {
				t.Errorf("Finish refused but returned %+v", res)
			}
		})
	}
}

// TestACallbackIsRefusedUnlessItIsThisBrowsersSignIn: state, flow cookie
// and the provider's answer.
func TestACallbackIsRefusedUnlessItIsThisBrowsersSignIn(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	tamper := func(cb Callback) Callback {
		name, v, _ := strings.Cut(cb.Cookies[0], "=")
		body, mac, _ := strings.Cut(v, ".")
		raw, _ := base64.RawURLEncoding.DecodeString(body)
		raw = []byte(strings.Replace(string(raw), "/approve?token=t1", "/approve?token=t2", 1))
		cb.Cookies = []string{name + "=" + base64.RawURLEncoding.EncodeToString(raw) + "." + mac}
		return cb
	}
	tests := []struct {
		name   string
		change func(Callback) Callback
		want   Reason
	}{
		{"another state", func(cb Callback) Callback { cb.State = "x" + cb.State; return cb }, ReasonStateMismatch},
		{"no state", func(cb Callback) Callback { cb.State = ""; return cb }, ReasonStateMismatch},
		{"no flow cookie", func(cb Callback) Callback { cb.Cookies = nil; return cb }, ReasonNoFlow},
		{"another browser's flow cookie", func(cb Callback) Callback {
			cb.Cookies = r.authorize(t, "mallory@example.com").Cookies
			return cb
		}, ReasonStateMismatch},
		{"a tampered flow cookie", tamper, ReasonFlowTampered},
		{"the provider's error", func(cb Callback) Callback { cb.Error = "access_denied"; return cb }, ReasonProviderError},
		{"another code", func(cb Callback) Callback { cb.Code = "forged"; return cb }, ReasonCodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.flow.Finish(context.Background(), tt.change(r.authorize(t, "alice@example.com")))
			if got := reasonOf(err); got != tt.want || res.Email != "" {
				t.Errorf("Finish = %+v, %v, want refused: %s", res, err, tt.want)
			}
		})
	}
	t.Run("a sign-in that took too long", func(t *testing.T) {
		cb := r.authorize(t, "alice@example.com")
		r.advance(DefaultFlowTTL)
		defer r.advance(-DefaultFlowTTL)
		if _, err := r.flow.Finish(context.Background(), cb); reasonOf(err) != ReasonFlowExpired {
			t.Errorf("Finish after %v = %v, want %s", DefaultFlowTTL, err, ReasonFlowExpired)
		}
	})
}

// TestAReplayedStateIsRefused: a callback works once, and of two at once
// exactly one is accepted.
func TestAReplayedStateIsRefused(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	cb := r.authorize(t, "alice@example.com")
	if _, err := r.flow.Finish(ctx, cb); err != nil {
		t.Fatal(err)
	}
	if res, err := r.flow.Finish(ctx, cb); reasonOf(err) != ReasonStateReplayed || res.Email != "" {
		t.Errorf("Finish(the same callback again) = %+v, %v, want %s", res, err, ReasonStateReplayed)
	}

	cb = r.authorize(t, "alice@example.com")
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = r.flow.Finish(ctx, cb) })
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		switch {
		case err == nil:
			accepted++
		case reasonOf(err) != ReasonStateReplayed:
			t.Errorf("a concurrent replay = %v, want %s", err, ReasonStateReplayed)
		}
	}
	if accepted != 1 {
		t.Errorf("%d of %d concurrent callbacks with one state accepted, want 1", accepted, len(errs))
	}
}

// TestASessionCookieIsRefusedUnlessItVerifies: tampered, expired, absent,
// or a flow cookie renamed.
func TestASessionCookieIsRefusedUnlessItVerifies(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	ctx := context.Background()
	cb := r.authorize(t, "alice@example.com")
	res, err := r.flow.Finish(ctx, cb)
	if err != nil {
		t.Fatal(err)
	}
	good := res.Cookies[0].Value
	body, mac, _ := strings.Cut(good, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(body)
	otherEmail := base64.RawURLEncoding.EncodeToString([]byte(strings.Replace(string(raw), "alice@", "bob@", 1))) + "." + mac
	_, flowValue, _ := strings.Cut(cb.Cookies[0], "=")
	tests := []struct {
		name    string
		cookies []string
		want    Reason
	}{
		{"another email under the same MAC", []string{SessionCookie + "=" + otherEmail}, ReasonSessionTampered},
		{"a MAC cut short", []string{SessionCookie + "=" + good[:len(good)-4]}, ReasonSessionTampered},
		{"not base64", []string{SessionCookie + "=%%%." + mac}, ReasonSessionTampered},
		{"the flow cookie renamed", []string{SessionCookie + "=" + flowValue}, ReasonSessionTampered},
		{"none", []string{"other=1"}, ReasonNoSession},
		{"two of them", []string{SessionCookie + "=" + good, SessionCookie + "=" + good}, ReasonNoSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := r.flow.Session(ctx, tt.cookies); reasonOf(err) != tt.want {
				t.Errorf("Session = %+v, %v, want %s", s, err, tt.want)
			}
		})
	}
	if _, err := r.flow.Session(ctx, []string{"a=1; " + SessionCookie + "=" + good}); err != nil {
		t.Errorf("Session(in a Cookie header) = %v, want alice's", err)
	}
	r.advance(DefaultSessionTTL)
	if _, err := r.flow.Session(ctx, []string{SessionCookie + "=" + good}); reasonOf(err) != ReasonSessionExpired {
		t.Errorf("Session after %v = %v, want %s", DefaultSessionTTL, err, ReasonSessionExpired)
	}
}
