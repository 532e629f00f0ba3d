package signin

import (
	"fmt"
	"net/url"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Settings say which OpenID Connect provider signs approvers in. The zero
// value (OIDC_ISSUER unset) is sign-in off.
type Settings struct {
	// Issuer is the provider's issuer URL (OIDC_ISSUER), exactly as its
	// discovery document gives "issuer".
	Issuer string
	// ClientID is the page's client ID at the provider (OIDC_CLIENT_ID).
	ClientID string
	// ClientSecretARN is the Secrets Manager secret holding the client
	// secret (OIDC_CLIENT_SECRET_ARN): see LoadClientSecret.
	ClientSecretARN string
}

// Enabled reports whether approvers sign in.
func (s Settings) Enabled() bool { return s.Issuer != "" }

// ReadSettings reads OIDC_ISSUER, OIDC_CLIENT_ID and
// OIDC_CLIENT_SECRET_ARN; r records every problem against its variable.
// With OIDC_ISSUER unset the other two must be unset too (a half-set
// configuration is a mistake, not sign-in off).
func ReadSettings(r *settings.Reader) Settings {
	s := Settings{
		Issuer:          r.String("OIDC_ISSUER", ""),
		ClientID:        r.String("OIDC_CLIENT_ID", ""),
		ClientSecretARN: r.String("OIDC_CLIENT_SECRET_ARN", ""),
	}
	if s.Issuer == "" {
		for name, v := range map[string]string{"OIDC_CLIENT_ID": s.ClientID, "OIDC_CLIENT_SECRET_ARN": s.ClientSecretARN} {
			if v != "" {
				r.Fail(name, "set, but OIDC_ISSUER is not: set both, or neither")
			}
		}
		return Settings{}
	}
	if err := checkIssuer(s.Issuer); err != nil {
		r.Fail("OIDC_ISSUER", "%v", err)
	}
	if s.ClientID == "" {
		r.Fail("OIDC_CLIENT_ID", "required when OIDC_ISSUER is set")
	}
	if s.ClientSecretARN == "" {
		r.Fail("OIDC_CLIENT_SECRET_ARN", "required when OIDC_ISSUER is set")
	} else if _, err := awsid.ParseSecretARN(s.ClientSecretARN); err != nil {
		r.Fail("OIDC_CLIENT_SECRET_ARN", "%v", err)
	}
	return s
}

// checkIssuer accepts an https URL without query, fragment or credentials
// (OpenID Connect Discovery 1.0, section 2: "a case-sensitive URL using the
// https scheme ... and no query or fragment components"), and http on
// loopback only, for local runs.
func checkIssuer(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", awsid.Clip(s, 120))
	}
	loopback := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
	switch {
	case u.Scheme != "https" && (u.Scheme != "http" || !loopback):
		return fmt.Errorf("%q: want https (http only on localhost)", awsid.Clip(s, 120))
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Opaque != "":
		return fmt.Errorf("%q: want https://host[/path], with no credentials, query or fragment", awsid.Clip(s, 120))
	}
	return nil
}
