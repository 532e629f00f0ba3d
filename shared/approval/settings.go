package approval

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// DefaultLinkTTL is how long an approval link works unless LINK_TTL says.
const DefaultLinkTTL = 72 * time.Hour

// Bounds of LINK_TTL: long enough to act on, short enough that a forwarded
// or leaked email stops working soon.
const (
	MinLinkTTL = 5 * time.Minute
	MaxLinkTTL = 14 * 24 * time.Hour
)

// Settings is the configuration both functions read (the contract).
type Settings struct {
	ApproverTopicARN string
	TargetTopicARN   string
	Targets          Targets
	// ApprovalURL is the API's base URL; links are ApprovalURL?token=….
	ApprovalURL string
	Table       string
	LinkTTL     time.Duration
	// ProofKeyARN is the stack's HMAC_256 KMS key that seals the request
	// records (PROOF_KEY_ARN): see seal.go.
	ProofKeyARN string
	// Named is the named-approver configuration (named.go); its zero
	// value, APPROVERS unset, is the SNS mode.
	Named Named
}

// ReadSettings reads the contract's variables; r records every problem
// against the variable's name.
func ReadSettings(r *settings.Reader) Settings {
	s := Settings{
		ApproverTopicARN: required(r, "APPROVER_TOPIC_ARN", asIs(parsed(awsid.ParseSNSTopicARN))),
		TargetTopicARN:   required(r, "TARGET_TOPIC_ARN", asIs(parsed(awsid.ParseSNSTopicARN))),
		Targets: Targets{
			Accounts:      required(r, "TARGET_ACCOUNT_IDS", nonEmpty(list(accountID))),
			Organizations: settings.Parse(r, "TARGET_ORGANIZATION_ARNS", "", list(parsed(awsid.ParseOrganizationARN))),
			OUs:           settings.Parse(r, "TARGET_OU_ARNS", "", list(parsed(awsid.ParseOUARN))),
		},
		ApprovalURL: required(r, "APPROVAL_URL", approvalURL),
		Table:       required(r, "DECISIONS_TABLE", awsid.ParseTableName),
		LinkTTL:     r.Duration("LINK_TTL", DefaultLinkTTL, MinLinkTTL, MaxLinkTTL),
		ProofKeyARN: required(r, "PROOF_KEY_ARN", asIs(parsed(awsid.ParseKMSKeyARN))),
		Named:       ReadNamed(r),
	}
	return s
}

// ReadOpsTopic reads OPS_TOPIC_ARN, the operators' topic, which the
// sweeper tells of records refused as tampered.
func ReadOpsTopic(r *settings.Reader) string {
	return required(r, "OPS_TOPIC_ARN", asIs(parsed(awsid.ParseSNSTopicARN)))
}

// LoadSettings is the one configuration loader of the approval functions
// (ami-approval-request, -link and -sweeper): each main passes it to
// coldstart.Config. Every bad variable is named at once.
func LoadSettings(lookup settings.Lookup) (Settings, error) {
	r := settings.NewReader(lookup)
	s := ReadSettings(r)
	return s, r.Err()
}

func required[T any](r *settings.Reader, name string, parse func(string) (T, error)) T {
	var zero T
	v := r.String(name, "")
	if v == "" {
		r.Fail(name, "required")
		return zero
	}
	out, err := parse(v)
	if err != nil {
		r.Fail(name, "%v", err)
		return zero
	}
	return out
}

// asIs keeps a value that check accepts as it is given.
func asIs(check func(string) error) func(string) (string, error) {
	return func(s string) (string, error) { return s, check(s) }
}

// parsed checks a string with one of awsid's ARN parsers, keeping it as given.
func parsed(parse func(string) (arn.ARN, error)) func(string) error {
	return func(s string) error {
		_, err := parse(s)
		return err
	}
}

func accountID(s string) error {
	if !awsid.IsAccountID(s) {
		return fmt.Errorf("%q is not a 12-digit account ID", s)
	}
	return nil
}

// list parses a comma-separated list whose every item passes check; blanks
// and repeats are dropped.
func list(check func(string) error) func(string) ([]string, error) {
	return func(s string) ([]string, error) {
		var out []string
		for item := range strings.SplitSeq(s, ",") {
			item = strings.TrimSpace(item)
			if item == "" || slices.Contains(out, item) {
				continue
			}
			if err := check(item); err != nil {
				return nil, err
			}
			out = append(out, item)
		}
		return out, nil
	}
}

func nonEmpty(parse func(string) ([]string, error)) func(string) ([]string, error) {
	return func(s string) ([]string, error) {
		out, err := parse(s)
		if err == nil && len(out) == 0 {
			err = fmt.Errorf("%q lists none", s)
		}
		return out, err
	}
}

// approvalURL accepts an absolute https URL without query, fragment or
// credentials (http only on loopback, for local runs), and returns it with a
// trailing slash so the link is URL?token=….
func approvalURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a URL", s)
	}
	loopback := u.Hostname() == "localhost" || u.Hostname() == "127.0.0.1" || u.Hostname() == "::1"
	switch {
	case u.Scheme != "https" && (u.Scheme != "http" || !loopback):
		return "", fmt.Errorf("%q: want https (http only on localhost)", s)
	case u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "":
		return "", fmt.Errorf("%q: want scheme://host/path, with no credentials, query or fragment", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u.String(), nil
}

// Link returns the approval link for a token.
func Link(base string, t Token) string {
	return base + "?" + url.Values{"token": {t.Secret()}}.Encode()
}
