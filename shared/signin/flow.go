package signin

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"golang.org/x/oauth2"
)

// Default lifetimes: a sign-in is done in minutes, and a session lasts
// long enough to read the page and decide, not a working day.
const (
	DefaultFlowTTL    = 10 * time.Minute
	DefaultSessionTTL = 15 * time.Minute
)

// Config is what a Flow is built from.
type Config struct {
	Settings Settings
	// ClientSecret is the client secret (LoadClientSecret).
	ClientSecret string
	// RedirectURL is the callback route's absolute URL, as registered at
	// the provider.
	RedirectURL string
	// MAC seals and checks the cookies (a *proof.Sealer).
	MAC MAC
	// States remembers used states (TableStates).
	States States
	// HTTPClient talks to the provider (default http.DefaultClient).
	HTTPClient *http.Client
	// Now is the clock (default time.Now); ID tokens are checked against it too.
	Now func() time.Time
	// FlowTTL and SessionTTL default to DefaultFlowTTL and DefaultSessionTTL.
	FlowTTL, SessionTTL time.Duration
}

// Flow signs approvers in with the OpenID Connect authorization-code flow
// and PKCE: Begin sends the browser to the provider, Finish takes it back
// at the callback, and Session reads the session cookie Finish set.
type Flow struct {
	cfg      Config
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// New reads the provider's discovery document (its issuer must be
// Settings.Issuer exactly) and builds a Flow. The JWKS is fetched when the
// first ID token is verified, and again when a token names a key it lacks.
func New(ctx context.Context, c Config) (*Flow, error) {
	if !c.Settings.Enabled() {
		return nil, errors.New("sign-in is off (OIDC_ISSUER is unset)")
	}
	if c.MAC == nil || c.States == nil || c.RedirectURL == "" || c.ClientSecret == "" {
		return nil, errors.New("signin.New: MAC, States, RedirectURL and ClientSecret are required")
	}
	if c.HTTPClient == nil {
		c.HTTPClient = http.DefaultClient
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.FlowTTL == 0 {
		c.FlowTTL = DefaultFlowTTL
	}
	if c.SessionTTL == 0 {
		c.SessionTTL = DefaultSessionTTL
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, c.HTTPClient), c.Settings.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover the OpenID provider %s: %w", c.Settings.Issuer, err)
	}
	return &Flow{
		cfg: c,
		oauth: oauth2.Config{
			ClientID: c.Settings.ClientID, ClientSecret: c.ClientSecret,
			Endpoint: provider.Endpoint(), RedirectURL: c.RedirectURL,
			Scopes: []string{oidc.ScopeOpenID, "email"},
		},
		// Checks the signature against the provider's JWKS, iss, aud
		// (must contain the client ID) and exp; RS256 unless discovery
		// lists other algorithms go-oidc supports.
		verifier: provider.Verifier(&oidc.Config{ClientID: c.Settings.ClientID, Now: c.Now}),
	}, nil
}

// Start is where Begin sends the browser, and the cookie to set first.
type Start struct {
	URL    string
	Cookie *http.Cookie
}

// Begin starts a sign-in that, once finished, returns the browser to
// returnTo, a path on this host ("/approve?token=…"). It makes a fresh
// state, nonce and PKCE verifier, puts them in the sealed flow cookie, and
// gives the authorization URL with the state, the nonce and the S256 code
// challenge.
func (f *Flow) Begin(ctx context.Context, returnTo string) (Start, error) {
	if !localPath(returnTo) {
		return Start{}, fmt.Errorf("return path %q is not a path on this host", returnTo)
	}
	now := f.cfg.Now()
	fl := flow{State: random(), Nonce: random(), Verifier: oauth2.GenerateVerifier(), ReturnTo: returnTo, Expires: now.Add(f.cfg.FlowTTL).Truncate(time.Second)}
	c, err := sealCookie(ctx, f.cfg.MAC, FlowCookie, flowKind, fl, fl.fields(), fl.Expires, now)
	if err != nil {
		return Start{}, fmt.Errorf("seal the sign-in cookie: %w", err)
	}
	u := f.oauth.AuthCodeURL(fl.State, oidc.Nonce(fl.Nonce), oauth2.S256ChallengeOption(fl.Verifier))
	return Start{URL: u, Cookie: c}, nil
}

// Callback is the request to the callback route.
type Callback struct {
	// Code, State and Error are the query's code, state and error.
	Code, State, Error string
	// Cookies are the request's cookies: Cookie header values, or API
	// Gateway's list (events.APIGatewayV2HTTPRequest.Cookies).
	Cookies []string
}

// Result is a finished sign-in.
type Result struct {
	// Email is the provider-verified email claim.
	Email string
	// Subject is the ID token's sub (for the audit record).
	Subject string
	// ReturnTo is Begin's returnTo.
	ReturnTo string
	// Cookies are to be set on the answer: the session, and the flow
	// cookie cleared.
	Cookies []*http.Cookie
}

// Finish checks a callback, in this order, and returns the verified email:
// the provider sent no error; the flow cookie is there, verifies and has
// not expired; the callback's state is the cookie's; the state was not
// used before (States.Consume, so a replayed callback is refused even
// when the provider would take its code twice); the code is exchanged with
// the PKCE verifier; the ID token verifies (signature by the provider's
// JWKS, issuer, audience, expiry); its nonce is the cookie's; it has an
// email with email_verified true. A refusal is a *Refused; any other error
// means a service could not be asked.
func (f *Flow) Finish(ctx context.Context, cb Callback) (Result, error) {
	if cb.Error != "" {
		return Result{}, refuse(ReasonProviderError, clip(cb.Error))
	}
	var fl flow
	found, err := openCookie(ctx, f.cfg.MAC, cb.Cookies, FlowCookie, flowKind, &fl, fl.fieldsOf)
	switch {
	case !found:
		return Result{}, refuse(ReasonNoFlow, "")
	case proof.Untrusted(err):
		return Result{}, refuse(ReasonFlowTampered, "")
	case err != nil:
		return Result{}, fmt.Errorf("check the sign-in cookie: %w", err)
	}
	now := f.cfg.Now()
	if !now.Before(fl.Expires) {
		return Result{}, refuse(ReasonFlowExpired, "at "+fl.Expires.UTC().Format(time.RFC3339))
	}
	if cb.State == "" || subtle.ConstantTimeCompare([]byte(cb.State), []byte(fl.State)) != 1 {
		return Result{}, refuse(ReasonStateMismatch, "")
	}
	if err := f.cfg.States.Consume(ctx, fl.State, fl.Expires); err != nil {
		if errors.Is(err, ErrReplayed) {
			return Result{}, refuse(ReasonStateReplayed, "")
		}
		return Result{}, err
	}
	hctx := oidc.ClientContext(ctx, f.cfg.HTTPClient)
	tok, err := f.oauth.Exchange(hctx, cb.Code, oauth2.VerifierOption(fl.Verifier))
	var retrieve *oauth2.RetrieveError
	switch {
	case errors.As(err, &retrieve):
		return Result{}, refuse(ReasonCodeRefused, clip(retrieve.ErrorCode+" "+retrieve.ErrorDescription))
	case err != nil:
		return Result{}, fmt.Errorf("exchange the authorization code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return Result{}, refuse(ReasonNoIDToken, "")
	}
	idt, err := f.verifier.Verify(hctx, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return Result{}, refuse(ReasonTokenExpired, "at "+expired.Expiry.UTC().Format(time.RFC3339))
	case err != nil:
		return Result{}, refuse(ReasonTokenInvalid, clip(err.Error()))
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(fl.Nonce)) != 1 {
		return Result{}, refuse(ReasonNonceMismatch, "")
	}
	var claims struct {
		Email         string          `json:"email"`
		EmailVerified json.RawMessage `json:"email_verified"`
	}
	if err := idt.Claims(&claims); err != nil {
		return Result{}, refuse(ReasonTokenInvalid, clip(err.Error()))
	}
	if claims.Email == "" {
		return Result{}, refuse(ReasonNoEmail, "")
	}
	// Some providers send "true" as a string; anything else is not verified.
	if v := string(claims.EmailVerified); v != "true" && v != `"true"` {
		return Result{}, refuse(ReasonEmailUnverified, claims.Email)
	}
	s := session{Email: claims.Email, Expires: now.Add(f.cfg.SessionTTL).Truncate(time.Second)}
	c, err := sealCookie(ctx, f.cfg.MAC, SessionCookie, sessionKind, s, s.fields(), s.Expires, now)
	if err != nil {
		return Result{}, fmt.Errorf("seal the session cookie: %w", err)
	}
	return Result{Email: claims.Email, Subject: idt.Subject, ReturnTo: fl.ReturnTo, Cookies: []*http.Cookie{c, clearCookie(FlowCookie)}}, nil
}

// Session is a signed-in approver.
type Session struct {
	Email   string
	Expires time.Time
}

// Is reports whether the session's email is email: emails compare without
// regard to case (the domain is case-insensitive, RFC 5321 section 2.4,
// and identity providers treat local parts so too).
func (s Session) Is(email string) bool { return strings.EqualFold(s.Email, email) }

// Session reads the session cookie among cookies: a *Refused when there is
// none, it does not verify, or it has expired; another error when KMS
// could not be asked.
func (f *Flow) Session(ctx context.Context, cookies []string) (Session, error) {
	var s session
	found, err := openCookie(ctx, f.cfg.MAC, cookies, SessionCookie, sessionKind, &s, s.fieldsOf)
	switch {
	case !found:
		return Session{}, refuse(ReasonNoSession, "")
	case proof.Untrusted(err):
		return Session{}, refuse(ReasonSessionTampered, "")
	case err != nil:
		return Session{}, fmt.Errorf("check the session cookie: %w", err)
	}
	if !f.cfg.Now().Before(s.Expires) {
		return Session{}, refuse(ReasonSessionExpired, "at "+s.Expires.UTC().Format(time.RFC3339))
	}
	return Session(s), nil
}

// localPath accepts "/…" but not "//host…" or "/\host…" (which browsers
// read as another host): Finish redirects there.
func localPath(p string) bool {
	return strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "//") && !strings.HasPrefix(p, `/\`) && !strings.ContainsAny(p, "\r\n")
}

// random is 32 random bytes, base64url: a state or a nonce.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// clip keeps what an outsider sent short in a log.
func clip(s string) string {
	if len(s) > 200 {
		return s[:200]
	}
	return s
}
