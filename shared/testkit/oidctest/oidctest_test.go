package oidctest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const redirect = "https://page.example.com/callback"

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// authorizeQuery is a good authorization request with verifier's challenge.
func authorizeQuery(p *Provider, verifier string) url.Values {
	return url.Values{
		"client_id": {p.ClientID()}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid email"},
		"state": {"st"}, "nonce": {"nn"}, "code_challenge": {oauthChallenge(verifier)}, "code_challenge_method": {"S256"},
	}
}

// code runs /authorize and returns the code it redirects back with.
func code(t *testing.T, p *Provider, q url.Values) string {
	t.Helper()
	resp, err := noRedirects.Get(p.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("state") != "st" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize = %s, Location %q, want a redirect with a code and the state", resp.Status, loc)
	}
	return loc.Query().Get("code")
}

func exchange(t *testing.T, p *Provider, form url.Values, secret string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, p.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(p.ClientID(), secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// TestTheTokenEndpointChecksTheCodeClientRedirectAndVerifier.
func TestTheTokenEndpointChecksTheCodeClientRedirectAndVerifier(t *testing.T) {
	t.Parallel()
	p := New(t, Options{})
	p.SignInAs("alice@example.com")
	const verifier = "a-verifier-of-forty-three-characters-or-more-000"
	good := func(c string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {c}, "redirect_uri": {redirect}, "code_verifier": {verifier}}
	}
	tests := []struct {
		name   string
		change func(url.Values) url.Values
		secret string
		want   string
	}{
		{"wrong verifier", func(f url.Values) url.Values { f.Set("code_verifier", verifier+"x"); return f }, p.ClientSecret(), "invalid_grant"},
		{"no verifier", func(f url.Values) url.Values { f.Del("code_verifier"); return f }, p.ClientSecret(), "invalid_grant"},
		{"another redirect_uri", func(f url.Values) url.Values { f.Set("redirect_uri", redirect+"2"); return f }, p.ClientSecret(), "invalid_grant"},
		{"wrong secret", func(f url.Values) url.Values { return f }, "guess", "invalid_client"},
		{"unknown code", func(f url.Values) url.Values { f.Set("code", "forged"); return f }, p.ClientSecret(), "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := exchange(t, p, tt.change(good(code(t, p, authorizeQuery(p, verifier)))), tt.secret)
			if status < 400 || body["error"] != tt.want || body["id_token"] != nil {
				t.Errorf("token = %d %v, want %s and no token", status, body, tt.want)
			}
		})
	}
	c := code(t, p, authorizeQuery(p, verifier))
	if status, body := exchange(t, p, good(c), p.ClientSecret()); status != http.StatusOK || body["id_token"] == nil {
		t.Fatalf("token = %d %v, want an ID token", status, body)
	}
	if status, body := exchange(t, p, good(c), p.ClientSecret()); body["error"] != "invalid_grant" {
		t.Errorf("the same code again = %d %v, want invalid_grant", status, body)
	}
}

// TestAuthorizeRefusesWithoutPKCEOrARegisteredClient, and never redirects
// then.
func TestAuthorizeRefusesWithoutPKCEOrARegisteredClient(t *testing.T) {
	t.Parallel()
	p := New(t, Options{RedirectURIs: []string{redirect}})
	p.SignInAs("alice@example.com")
	for name, change := range map[string]func(url.Values){
		"no challenge":    func(q url.Values) { q.Del("code_challenge") },
		"plain challenge": func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"another client":  func(q url.Values) { q.Set("client_id", "other") },
		"unregistered":    func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"no state":        func(q url.Values) { q.Del("state") },
		"no openid scope": func(q url.Values) { q.Set("scope", "email") },
		"implicit flow":   func(q url.Values) { q.Set("response_type", "id_token") },
	} {
		q := authorizeQuery(p, "v")
		change(q)
		resp, err := noRedirects.Get(p.URL + "/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("authorize with %s = %s (Location %q), want 400 and no redirect", name, resp.Status, resp.Header.Get("Location"))
		}
	}
}

// TestWithoutSignInAsTheLoginFormSignsIn: a browser fills the form.
func TestWithoutSignInAsTheLoginFormSignsIn(t *testing.T) {
	t.Parallel()
	p := New(t, Options{})
	q := authorizeQuery(p, "v")
	resp, err := noRedirects.Get(p.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="email"`) || !strings.Contains(string(page), `name="nonce" value="nn"`) {
		t.Fatalf("authorize = %s %s, want the login form carrying the request", resp.Status, page)
	}
	q.Set("email", "bob@example.com")
	resp, err = noRedirects.PostForm(p.URL+"/authorize", q)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" {
		t.Fatalf("the form's POST = %s %q, want a redirect with a code", resp.Status, loc)
	}
	status, body := exchange(t, p, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {redirect}, "code_verifier": {"v"}}, p.ClientSecret())
	raw, _ := body["id_token"].(string)
	parts := strings.Split(raw, ".")
	if status != http.StatusOK || len(parts) != 3 {
		t.Fatalf("token = %d %v", status, body)
	}
	var c Claims
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(payload, &c); err != nil || c.Email != "bob@example.com" || !c.EmailVerified || c.Nonce != "nn" || c.Audience != p.ClientID() || c.Issuer != p.URL {
		t.Errorf("ID token claims = %+v, %v, want bob's, verified, nonce nn, for the client, from the provider", c, err)
	}
}
