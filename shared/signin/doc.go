// Package signin is the relying-party side of the approval page's
// optional sign-in (issue 20): the OpenID Connect authorization-code flow
// with PKCE, state and nonce, through github.com/coreos/go-oidc/v3 and
// golang.org/x/oauth2 rather than hand-written JWT checks.
//
// Where each decision lives:
//   - settings.go: OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET_ARN
//     (ReadSettings; sign-in is off when OIDC_ISSUER is unset);
//   - secret.go: the client secret, read from Secrets Manager once at cold
//     start (LoadClientSecret; secretsmanager:GetSecretValue on that
//     secret's ARN);
//   - flow.go: Begin (authorization URL and flow cookie), Finish (every
//     check of the callback, in order, returning the verified email) and
//     Session (the session cookie);
//   - cookie.go: the two cookies, MAC'd by shared/proof with the stack's
//     KMS HMAC key (PROOF_KEY_ARN), HttpOnly, Secure, SameSite=Lax,
//     __Host- prefixed;
//   - states.go: single use of a state (States; TableStates backs it with
//     the approval table by a conditional PutItem);
//   - reason.go: why a sign-in or a session is refused (*Refused).
//
// The calls, as read in the module sources (go-oidc v3.21.0, oauth2
// v0.38.0):
//   - oidc.NewProvider(ctx, issuer) fetches issuer +
//     "/.well-known/openid-configuration" and fails with
//     *oidc.IssuerMismatchError unless its "issuer" is issuer exactly; the
//     HTTP client rides in the context (oidc.ClientContext, the same key
//     oauth2 reads, so Exchange uses it too).
//   - provider.Verifier(&oidc.Config{ClientID, Now}).Verify(ctx, raw) checks
//     the signature against the provider's JWKS (a RemoteKeySet, fetched on
//     first use and refreshed on an unknown kid; RS256 when discovery lists
//     no other supported algorithm), iss, aud contains ClientID, and exp
//     (*oidc.TokenExpiredError) and nbf. It does NOT check the nonce
//     (IDToken.Nonce is for the caller) nor email_verified: Finish does.
//   - oauth2.Config.AuthCodeURL(state, oidc.Nonce(n),
//     oauth2.S256ChallengeOption(v)) with v from oauth2.GenerateVerifier()
//     (32 random octets, RFC 7636 section 4.1); Exchange(ctx, code,
//     oauth2.VerifierOption(v)) sends code_verifier; a provider refusal is
//     *oauth2.RetrieveError (ErrorCode, ErrorDescription); the ID token is
//     token.Extra("id_token"). Client authentication is auto-detected
//     (client_secret_basic first, then client_secret_post).
//
// Where the used-state record lives: the flow cookie carries the state,
// nonce and PKCE verifier from Begin to Finish (sealed, so the browser
// cannot change them, and bound to the browser that began: the callback's
// state must equal the cookie's, which stops login CSRF). Single use is
// the server's: Finish consumes the state before it exchanges the code,
// in a table item written with attribute_not_exists(id), so a replayed
// callback is refused even if a provider accepted a code twice, and of
// concurrent callbacks exactly one wins. The item keeps only the state's
// SHA-256 and expires with the flow cookie (TTL on expiresAt).
//
// The page compares Session.Email with the link's approver (Session.Is,
// case-insensitive); a decision is accepted only for that approver.
package signin
