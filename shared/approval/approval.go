package approval

import (
	"errors"
	"slices"
	"strings"
)

// Decisions a person can take on the page.
const (
	Approve = "approve"
	Reject  = "reject"
)

// Outcomes of a request once decided, as stored and shown. After failed or
// refused, Request.Shared lists any AMI whose sharing could not be undone:
// it is still shared (see Decider.share).
const (
	OutcomeSharing  = "sharing"  // approved; sharing under way (or interrupted)
	OutcomeShared   = "shared"   // approved; every AMI shared, targets told
	OutcomeFailed   = "failed"   // approved; sharing stopped on an error and was undone, can be retried
	OutcomeRefused  = "refused"  // approved, but an AMI cannot be shared: nothing shared
	OutcomeRejected = "rejected" // rejected: nothing shared
)

// Errors a caller maps to a page or a retry.
var (
	// ErrNotImage: the SNS message is not an Image Builder image; no retry helps.
	ErrNotImage = errors.New("not an Image Builder image message")
	// ErrUnknownToken: no request has this token (unknown, altered or malformed).
	ErrUnknownToken = errors.New("unknown token")
	// ErrExpired: the request's link expired before a decision.
	ErrExpired = errors.New("link expired")
	// ErrInProgress: another invocation holds this build's request; retry later.
	ErrInProgress = errors.New("request for this build in progress elsewhere")
)

// PastTense says a decision as done: "approved", "rejected".
func PastTense(decision string) string {
	switch decision {
	case Approve:
		return "approved"
	case Reject:
		return "rejected"
	}
	return decision
}

// Targets are who an approved build is shared with.
type Targets struct {
	Accounts      []string // 12-digit account IDs
	Organizations []string // arn:aws:organizations::…:organization/o-…
	OUs           []string // arn:aws:organizations::…:ou/o-…/ou-…
}

// Describe lists the targets for a person, one kind per line.
func (t Targets) Describe() []string {
	var out []string
	if len(t.Accounts) > 0 {
		out = append(out, "accounts "+strings.Join(t.Accounts, ", "))
	}
	if len(t.Organizations) > 0 {
		out = append(out, "organizations "+strings.Join(t.Organizations, ", "))
	}
	if len(t.OUs) > 0 {
		out = append(out, "organizational units "+strings.Join(t.OUs, ", "))
	}
	return out
}

// Within returns the targets of t that allowed names too, in t's order.
// An approval is shared with the configuration's targets at share time
// (allowed), narrowed to those the request named and the approver was
// shown (t): a record can narrow who gets the AMIs, never widen it.
func (t Targets) Within(allowed Targets) Targets {
	keep := func(mine, theirs []string) []string {
		var out []string
		for _, x := range mine {
			if slices.Contains(theirs, x) && !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
		return out
	}
	return Targets{Accounts: keep(t.Accounts, allowed.Accounts), Organizations: keep(t.Organizations, allowed.Organizations), OUs: keep(t.OUs, allowed.OUs)}
}

// Empty says whether t names nobody.
func (t Targets) Empty() bool { return len(t.Accounts)+len(t.Organizations)+len(t.OUs) == 0 }

func (t Targets) clone() Targets {
	return Targets{Accounts: slices.Clone(t.Accounts), Organizations: slices.Clone(t.Organizations), OUs: slices.Clone(t.OUs)}
}

// Who is the person behind a decision, as API Gateway reports them.
type Who struct {
	SourceIP  string
	UserAgent string
	// Approver is the named approver whose link decided (named.go); "" in
	// the SNS mode.
	Approver string
}
