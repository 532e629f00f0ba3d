package signin

import "fmt"

// Reason is why a sign-in or a session is refused. Its text is what the
// page's log records; the details of one attempt go in Refused.Detail.
type Reason string

// Reasons a sign-in (Finish) or a session (Session) is refused.
const (
	ReasonProviderError   Reason = "the identity provider answered the sign-in with an error"
	ReasonNoFlow          Reason = "no sign-in was started in this browser (no sign-in cookie)"
	ReasonFlowTampered    Reason = "the sign-in cookie does not verify (tampered, or not made by this stack)"
	ReasonFlowExpired     Reason = "the sign-in took too long: its cookie expired"
	ReasonStateMismatch   Reason = "the callback's state is not the one this browser's sign-in sent"
	ReasonStateReplayed   Reason = "the callback's state was used before (a replayed callback)"
	ReasonCodeRefused     Reason = "the identity provider refused the authorization code"
	ReasonNoIDToken       Reason = "the identity provider's answer carries no ID token"
	ReasonTokenExpired    Reason = "the ID token has expired"
	ReasonTokenInvalid    Reason = "the ID token does not verify (signature, issuer or audience)" // #nosec G101 -- a refusal's text, not a credential
	ReasonNonceMismatch   Reason = "the ID token's nonce is not this sign-in's"
	ReasonNoEmail         Reason = "the ID token carries no email claim"
	ReasonEmailUnverified Reason = "the identity provider has not verified the email (email_verified is not true)"
	ReasonNoSession       Reason = "not signed in (no session cookie)"
	ReasonSessionTampered Reason = "the session cookie does not verify (tampered, or not made by this stack)"
	ReasonSessionExpired  Reason = "the session has expired"
)

// Refused is a sign-in or a session refused: the approver is not signed
// in, nothing is to be recorded, and signing in again is the way on. Any
// other error from this package means a service (KMS, DynamoDB, the
// provider) could not be asked, and the page says to try again.
type Refused struct {
	Reason Reason
	Detail string
}

func (r *Refused) Error() string {
	if r.Detail == "" {
		return string(r.Reason)
	}
	return fmt.Sprintf("%s: %s", r.Reason, r.Detail)
}

func refuse(reason Reason, detail string) error { return &Refused{Reason: reason, Detail: detail} }
