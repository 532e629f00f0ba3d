// Package oidctest is a small OpenID Connect provider on loopback, for the
// sign-in tests and `make local`: discovery
// (/.well-known/openid-configuration), the JWKS (/jwks), the
// authorization endpoint (/authorize: the authorization-code flow, PKCE
// with S256 required) and the token endpoint (/token: the code, the
// client's ID and secret, the redirect URI and the code verifier are all
// checked, and a code works once). ID tokens are signed RS256 and carry
// iss, sub, aud, exp, iat, nonce, email and email_verified.
//
// Who signs in is the test's choice: SignInAs makes /authorize sign that
// user in at once (a redirect straight back, as an IdP with a live session
// does); without it /authorize shows a login form with one email field,
// which a headless browser fills and submits.
//
// Faults for the negative tests (Spoil) change the next ID tokens: signed
// with another key (forged), already expired, for another audience, from
// another issuer, with another nonce, or with email_verified false.
//
// Start is the error-returning core (scripts/local starts it too); New is
// the testing.TB wrapper that stops it when the test ends.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/wirefake"
)

// Options configure a Provider; the zero value is usable.
type Options struct {
	// ClientID and ClientSecret are the one registered client's
	// (default "approval-page" and "client-secret").
	ClientID, ClientSecret string
	// RedirectURIs are the client's registered redirect URIs; empty
	// accepts any http(s) URI (the token endpoint still requires the same
	// one as the authorization request).
	RedirectURIs []string
	// TokenTTL is how long an ID token is valid (default 5 minutes).
	TokenTTL time.Duration
	// Now is the provider's clock (default time.Now).
	Now func() time.Time
}

// Fault spoils the ID tokens the provider issues, for negative tests.
type Fault int

// Faults: each makes a token a relying party must refuse.
const (
	// Forged: signed with a key the JWKS does not list.
	Forged Fault = iota + 1
	// Expired: exp is in the past.
	Expired
	// WrongAudience: aud is another client's ID.
	WrongAudience
	// WrongIssuer: iss is another provider's URL.
	WrongIssuer
	// WrongNonce: nonce is not the one the authorization request sent.
	WrongNonce
	// UnverifiedEmail: email_verified is false.
	UnverifiedEmail
)

// Provider is an OpenID Connect provider on loopback. Its URL is the
// issuer.
type Provider struct {
	*wirefake.Server
	opts  Options
	key   *rsa.PrivateKey // the JWKS lists it
	other *rsa.PrivateKey // signs forged tokens

	mu     sync.Mutex
	user   string // who /authorize signs in; "" shows the form
	faults []Fault
	codes  map[string]*grant
}

// grant is one authorization code and what it was issued for.
type grant struct {
	redirectURI, challenge, nonce, email string
	expires                              time.Time
	used                                 bool
}

// keyID is the kid of the provider's signing key in the JWKS.
const keyID = "oidctest-1"

// Start starts a provider on a free loopback port.
func Start(o Options) (*Provider, error) {
	if o.ClientID == "" {
		o.ClientID = "approval-page"
	}
	if o.ClientSecret == "" {
		o.ClientSecret = "client-secret"
	}
	if o.TokenTTL == 0 {
		o.TokenTTL = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &Provider{opts: o, codes: map[string]*grant{}}
	var err error
	if p.key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, fmt.Errorf("generate the signing key: %w", err)
	}
	if p.other, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		return nil, fmt.Errorf("generate the forger's key: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	if p.Server, err = wirefake.Serve(mux); err != nil {
		return nil, err
	}
	return p, nil
}

// New starts a provider and stops it when the test ends.
func New(tb testing.TB, o Options) *Provider {
	tb.Helper()
	return wirefake.ForTest(tb, func() (*Provider, error) { return Start(o) })
}

// ClientID is the registered client's ID.
func (p *Provider) ClientID() string { return p.opts.ClientID }

// ClientSecret is the registered client's secret.
func (p *Provider) ClientSecret() string { return p.opts.ClientSecret }

// SignInAs makes /authorize sign email in at once, with no form.
func (p *Provider) SignInAs(email string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = email
}

// SignOut makes /authorize show the login form again.
func (p *Provider) SignOut() { p.SignInAs("") }

// Spoil makes the next ID token the provider issues carry faults; each
// call spoils one more token.
func (p *Provider) Spoil(faults ...Fault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, faults...)
	p.faults = append(p.faults, 0) // the end of this token's faults
}

// Claims are an ID token's claims.
type Claims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Audience      string `json:"aud"`
	Expiry        int64  `json:"exp"`
	IssuedAt      int64  `json:"iat"`
	Nonce         string `json:"nonce,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified"`
}

// ClaimsFor are the claims of a good ID token for email, with nonce.
func (p *Provider) ClaimsFor(email, nonce string) Claims {
	now := p.opts.Now()
	sub := sha256.Sum256([]byte(strings.ToLower(email)))
	return Claims{
		Issuer: p.URL, Subject: base64.RawURLEncoding.EncodeToString(sub[:12]), Audience: p.opts.ClientID,
		Expiry: now.Add(p.opts.TokenTTL).Unix(), IssuedAt: now.Unix(),
		Nonce: nonce, Email: email, EmailVerified: true,
	}
}

// Sign signs claims as an ID token with the provider's key (forged: with a
// key its JWKS does not list).
func (p *Provider) Sign(c Claims, forged bool) (string, error) {
	key := p.key
	if forged {
		key = p.other
	}
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": keyID})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("sign the ID token: %w", err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}

// spoiled applies the faults of the next spoiled token to c and says
// whether it is to be forged.
func (p *Provider) spoiled(c *Claims) (forged bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.faults) > 0 {
		f := p.faults[0]
		p.faults = p.faults[1:]
		switch f {
		case 0:
			return forged
		case Forged:
			forged = true
		case Expired:
			c.Expiry = p.opts.Now().Add(-time.Minute).Unix()
			c.IssuedAt = p.opts.Now().Add(-p.opts.TokenTTL - time.Minute).Unix()
		case WrongAudience:
			c.Audience = "another-client"
		case WrongIssuer:
			c.Issuer = "https://idp.invalid"
		case WrongNonce:
			c.Nonce = "not-the-nonce"
		case UnverifiedEmail:
			c.EmailVerified = false
		}
	}
	return forged
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified"},
	})
}

func (p *Provider) jwks(w http.ResponseWriter, _ *http.Request) {
	enc := base64.RawURLEncoding
	pub := p.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": keyID,
		"n": enc.EncodeToString(pub.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// authorize is the authorization endpoint: it checks the request, then
// signs in the SignInAs user, or shows the login form (GET) and takes its
// answer (POST), and redirects back with a code and the state.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	p.Add(wirefake.NewCall(r, "authorize", nil))
	redirect := q.Get("redirect_uri")
	if problem := p.checkAuthorize(q); problem != "" {
		// Never redirect to an unchecked URI (RFC 6749 section 4.1.2.1).
		http.Error(w, problem, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	email := p.user
	p.mu.Unlock()
	if r.Method == http.MethodPost {
		email = strings.TrimSpace(q.Get("email"))
	}
	if email == "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = loginForm.Execute(w, q)
		return
	}
	code := randomString()
	p.mu.Lock()
	p.codes[code] = &grant{redirectURI: redirect, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), email: email, expires: p.opts.Now().Add(time.Minute)}
	p.mu.Unlock()
	u, _ := url.Parse(redirect) // checked by checkAuthorize
	back := u.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	u.RawQuery = back.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound) // #nosec G710 -- checkAuthorize checked redirect_uri (registered, when RedirectURIs are given)
}

// checkAuthorize names what is wrong with an authorization request, or "".
func (p *Provider) checkAuthorize(q url.Values) string {
	redirect := q.Get("redirect_uri")
	u, err := url.Parse(redirect)
	switch {
	case q.Get("client_id") != p.opts.ClientID:
		return "unknown client_id"
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return "redirect_uri is not an absolute http(s) URI"
	case len(p.opts.RedirectURIs) > 0 && !slices.Contains(p.opts.RedirectURIs, redirect):
		return "redirect_uri is not registered"
	case q.Get("response_type") != "code":
		return "response_type must be code"
	case !slices.Contains(strings.Fields(q.Get("scope")), "openid"):
		return "scope must include openid"
	case q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "":
		return "PKCE with S256 is required"
	case q.Get("state") == "":
		return "state is required"
	}
	return ""
}

var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>oidctest sign-in</title></head><body>
<h1>Sign in</h1>
<form method="post" action="/authorize">
{{range $k, $v := .}}{{if ne $k "email"}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
{{end}}<label>Email <input id="email" name="email" type="email" autofocus></label>
<button id="sign-in" type="submit">Sign in</button>
</form></body></html>
`))

// token is the token endpoint: one authorization code, once, for the
// client that asked for it, with its redirect URI and PKCE verifier.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "bad form")
		return
	}
	p.Add(wirefake.NewCall(r, "token", nil))
	id, secret, ok := r.BasicAuth()
	if ok { // client_secret_basic: form-encoded, then base64 (RFC 6749 section 2.3.1)
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.opts.ClientSecret)) != 1 {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code")
		return
	}
	p.mu.Lock()
	g := p.codes[r.PostForm.Get("code")]
	problem := ""
	switch {
	case g == nil:
		problem = "unknown code"
	case g.used:
		problem = "the code was used already"
	case p.opts.Now().After(g.expires):
		problem = "the code expired"
	case g.redirectURI != r.PostForm.Get("redirect_uri"):
		problem = "redirect_uri differs from the authorization request's"
	case oauthChallenge(r.PostForm.Get("code_verifier")) != g.challenge:
		problem = "code_verifier does not match the code_challenge"
	}
	if g != nil {
		g.used = true // a code works once, even a refused attempt spends it
	}
	p.mu.Unlock()
	if problem != "" {
		oauthError(w, http.StatusBadRequest, "invalid_grant", problem)
		return
	}
	c := p.ClaimsFor(g.email, g.nonce)
	forged := p.spoiled(&c)
	idToken, err := p.Sign(c, forged)
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": randomString(), "token_type": "Bearer",
		"expires_in": int(p.opts.TokenTTL.Seconds()), "id_token": idToken,
	})
}

// oauthChallenge is the S256 code challenge of a verifier (RFC 7636
// section 4.2), "" for no verifier.
func oauthChallenge(verifier string) string {
	if verifier == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}
