package approval

import (
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/mail"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Named approvers (issue 20): when APPROVERS is set, each approver gets
// their own email (SES, from APPROVAL_FROM) with their own link, and a
// request is approved once a quorum of distinct approvers approved it.
// Unset, the SNS mode runs as before: one link to the approver topic, a
// quorum of 1.

// Approver is one named approver: a bare email address (mail.ParseAddress)
// and, optionally, the name the page shows.
type Approver struct {
	Email string `json:"email" dynamodbav:"email"`
	Name  string `json:"name,omitempty" dynamodbav:"name,omitempty"`
}

// Label is the approver as the page and the emails name them.
func (a Approver) Label() string {
	if a.Name == "" {
		return a.Email
	}
	return a.Name + " <" + a.Email + ">"
}

// Named is the named-approver configuration: APPROVERS, APPROVAL_FROM,
// APPROVAL_QUORUM, APPROVAL_QUORUM_ORGANIZATIONS and
// APPROVAL_QUORUM_ACCOUNTS. Its zero value is the SNS mode.
type Named struct {
	Approvers []Approver
	// From is the verified SES sender of the approvers' emails.
	From string
	// Quorum is how many distinct approvers must approve (1 by default).
	Quorum int
	// Stricter maps an organization ID (o-…), an OU ID (ou-…) or an
	// account ID to the quorum a request must reach when its targets
	// include it; the highest that applies wins.
	Stricter map[string]int
}

// On says whether named approvers are configured.
func (n Named) On() bool { return len(n.Approvers) > 0 }

// QuorumFor is the quorum of a request for targets: the highest of
// APPROVAL_QUORUM and every stricter quorum whose organization, OU or
// account the targets include. An organization or OU target is matched by
// its ID, the last element of its ARN.
func (n Named) QuorumFor(targets Targets) int {
	q := max(n.Quorum, 1)
	ids := slices.Clone(targets.Accounts)
	for _, a := range slices.Concat(targets.Organizations, targets.OUs) {
		ids = append(ids, path.Base(a))
	}
	for _, id := range ids {
		q = max(q, n.Stricter[id])
	}
	return q
}

// ReadNamed reads the named-approver settings; r records every problem
// against the variable's name. The rules: APPROVAL_FROM is required with
// APPROVERS; a quorum is a whole number from 1 to the number of approvers,
// and above 1 only with APPROVERS (one link cannot be counted as two
// people); the stricter quorums are comma-separated ID=N items, each N at
// least APPROVAL_QUORUM.
func ReadNamed(r *settings.Reader) Named {
	n := Named{Approvers: settings.Parse(r, "APPROVERS", "", parseApprovers)}
	if from := r.String("APPROVAL_FROM", ""); from != "" {
		if _, err := mail.ParseAddress(from); err != nil {
			r.Fail("APPROVAL_FROM", "%v", err)
		} else {
			n.From = from
		}
	} else if n.On() {
		r.Fail("APPROVAL_FROM", "required with APPROVERS: the verified SES identity the approvers' emails come from")
	}
	limit := max(len(n.Approvers), 1)
	n.Quorum = quorum(r, "APPROVAL_QUORUM", r.String("APPROVAL_QUORUM", "1"), 1, limit, n.On())
	n.Stricter = map[string]int{}
	least := max(n.Quorum, 1)
	stricter(r, "APPROVAL_QUORUM_ORGANIZATIONS", isOrgOrOUID, "an organization ID (o-…) or an OU ID (ou-…)", least, limit, n)
	stricter(r, "APPROVAL_QUORUM_ACCOUNTS", awsid.IsAccountID, "a 12-digit account ID", least, limit, n)
	if len(n.Stricter) == 0 {
		n.Stricter = nil
	}
	return n
}

// stricter reads one variable of ID=N items into n.Stricter.
func stricter(r *settings.Reader, name string, check func(string) bool, want string, least, limit int, n Named) {
	for item := range strings.SplitSeq(r.String(name, ""), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		id, num, ok := strings.Cut(item, "=")
		id = strings.TrimSpace(id)
		if !ok || !check(id) {
			r.Fail(name, "%q: want ID=N with ID %s", item, want)
			continue
		}
		n.Stricter[id] = quorum(r, name, strings.TrimSpace(num), least, limit, n.On())
	}
}

// quorum parses one quorum value in [least, limit]; above 1 only when
// named is set.
func quorum(r *settings.Reader, name, s string, least, limit int, named bool) int {
	q, err := strconv.Atoi(s)
	switch {
	case err != nil:
		r.Fail(name, "%q is not a whole number", s)
	case q > 1 && !named:
		r.Fail(name, "%d needs APPROVERS: the SNS mode has one link, which cannot be counted as %d people", q, q)
	case q < least || q > limit:
		r.Fail(name, "%d: want %d to %d (the number of APPROVERS)", q, least, limit)
	default:
		return q
	}
	return 0
}

func isOrgOrOUID(s string) bool { return awsid.IsOrganizationID(s) || awsid.IsOUID(s) }

// parseApprovers reads APPROVERS: comma-separated addresses, or a JSON list
// of {"email", "name"}. Every address is a bare one (mail.ParseAddress);
// the same address twice is refused, since it would count one person twice.
func parseApprovers(s string) ([]Approver, error) {
	var list []Approver
	if strings.TrimSpace(s) == "" {
		return nil, nil // the SNS mode
	}
	if strings.HasPrefix(strings.TrimSpace(s), "[") {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&list); err != nil {
			return nil, fmt.Errorf("not a JSON list of {\"email\", \"name\"}: %v", err)
		}
	} else {
		for item := range strings.SplitSeq(s, ",") {
			if item = strings.TrimSpace(item); item != "" {
				list = append(list, Approver{Email: item})
			}
		}
	}
	seen := map[string]bool{}
	for i, a := range list {
		email, err := mail.ParseAddress(strings.TrimSpace(a.Email))
		if err != nil {
			return nil, fmt.Errorf("approver %d: %v", i+1, err)
		}
		if strings.ContainsAny(a.Name, "<>\r\n") {
			return nil, fmt.Errorf("approver %s: the name %q holds <, > or a line break", email, a.Name)
		}
		if seen[strings.ToLower(email)] {
			return nil, fmt.Errorf("%s is listed twice: one person would count twice", email)
		}
		seen[strings.ToLower(email)] = true
		// Lower case: the address is a vote's key and is compared with a
		// signed-in approver's.
		list[i] = Approver{Email: strings.ToLower(email), Name: strings.TrimSpace(a.Name)}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%q lists none", s)
	}
	return list, nil
}
