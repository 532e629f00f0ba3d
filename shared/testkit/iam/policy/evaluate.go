package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Request is one authorization question: may Principal do Action on
// Resource?
type Request struct {
	// PrincipalARN is the caller, e.g. "arn:aws:iam::123456789012:role/SnapshotRole"
	// (the role ARN, as in aws:PrincipalArn) or an assumed-role session ARN.
	PrincipalARN string
	// PrincipalAccount is the caller's account; when empty it is taken from
	// PrincipalARN.
	PrincipalAccount string
	// PrincipalService is set instead of PrincipalARN when an AWS service
	// principal calls (e.g. "events.amazonaws.com").
	PrincipalService string
	// Action is the service prefix and action, "ec2:DeleteVolume" (matched
	// case-insensitively).
	Action string
	// Resource is one ARN, or "*" for actions without resource types.
	Resource string
	// ResourceAccount is the account that owns the resource ("" when unknown
	// or not applicable, which Evaluate treats as the caller's account).
	ResourceAccount string
	// Keys are the request context's condition keys and their values. Key
	// names are case-insensitive. A key absent from the map, or present
	// with no values, is absent from the request context. A multivalued key
	// (aws:TagKeys) has several values. Evaluate adds nothing: see
	// WithGlobalKeys.
	Keys map[string][]string
	// KnownKeys lists the condition keys that the action supports, beyond
	// those present in Keys and the global keys (globalKeys): a statement
	// that matches the action and names a key in none of them is an error
	// wrapping ErrUnknownKey. An entry ending in "/*" or holding a
	// placeholder ("aws:RequestTag/${TagKey}") matches any key with that
	// prefix. nil means: do not check key names.
	KnownKeys []string
}

// WithGlobalKeys returns a copy of r whose Keys also hold the global keys
// AWS puts in every request context of this kind, unless r already sets
// them: aws:PrincipalArn and aws:PrincipalAccount for an IAM principal,
// aws:PrincipalServiceName for a service principal, aws:ResourceAccount
// when the resource's account is known. For an assumed-role session AWS
// sets aws:PrincipalArn to the role's ARN; pass that as PrincipalARN, or set
// the key yourself.
func (r Request) WithGlobalKeys() Request {
	keys := make(map[string][]string, len(r.Keys)+3)
	present := map[string]bool{}
	for k, v := range r.Keys {
		keys[k] = v
		present[strings.ToLower(k)] = true
	}
	add := func(k, v string) {
		if v != "" && !present[strings.ToLower(k)] {
			keys[k] = []string{v}
		}
	}
	if r.PrincipalService != "" {
		add("aws:PrincipalServiceName", r.PrincipalService)
	} else {
		add("aws:PrincipalArn", r.PrincipalARN)
		account := r.PrincipalAccount
		if account == "" {
			if p, ok := arnParts(r.PrincipalARN); ok {
				account = p[4]
			}
		}
		add("aws:PrincipalAccount", account)
	}
	add("aws:ResourceAccount", r.ResourceAccount)
	r.Keys = keys
	return r
}

// ResourcePolicyKind says which resource policy semantics apply.
type ResourcePolicyKind int

const (
	// OrdinaryResourcePolicy (SNS topic, SQS queue, EventBridge bus): within
	// one account, an Allow in either the identity policies or the resource
	// policy allows (unless explicitly denied). A resource-policy Allow
	// whose principal is the account (ID or arn:...:root) grants nothing by
	// itself to a principal of that account: it delegates to the account's
	// identity policies.
	OrdinaryResourcePolicy ResourcePolicyKind = iota
	// KeyPolicy (KMS): the key policy must allow, either directly
	// (principal named, or "*") or by allowing the account root, in which
	// case the identity policies must also allow.
	KeyPolicy
)

// Decision is the outcome of an evaluation.
type Decision string

const (
	Allow        Decision = "Allow"
	ExplicitDeny Decision = "ExplicitDeny"
	ImplicitDeny Decision = "ImplicitDeny"
)

// PolicyType is a kind of policy, as AWS's access-denied messages name it.
type PolicyType string

const (
	IdentityBased PolicyType = "identity-based"
	ResourceBased PolicyType = "resource-based"
)

// Match names the statement that decided.
type Match struct {
	Source    string // Source.Name
	Statement int    // index in the document
	Sid       string
}

// Result is Evaluate's answer.
type Result struct {
	Decision Decision
	Allowed  bool
	// By is the statement that allowed (for Allow) or explicitly denied
	// (for ExplicitDeny); nil for ImplicitDeny. When an Allow needed both
	// kinds of policy (cross-account, or a key policy that delegates to
	// IAM), By is the identity-based statement and Also the resource-based
	// one.
	By   *Match
	Also *Match
	// Policy is the kind of policy By is in; for ImplicitDeny, the kind of
	// policy that lacks an Allow.
	Policy PolicyType
	// Reason is AWS's phrase, for error messages: "because no identity-based
	// policy allows the ec2:DeleteVolume action", "with an explicit deny in
	// an identity-based policy", "with an explicit deny in a resource-based
	// policy", "because no resource-based policy allows the kms:GenerateMac
	// action". Empty for Allow.
	Reason string
}

// Evaluate answers one request. identity are the caller's identity-based
// policies; resource is the resource's policy (nil when the resource has
// none) and kind says which semantics apply.
//
// Order, from "Policy evaluation logic", "Policy evaluation for requests
// within a single account" and "Cross-account policy evaluation logic": an
// explicit Deny in any policy wins; a cross-account request
// (ResourceAccount set and not the caller's) needs an Allow in both the
// identity policies and the resource policy; within one account see
// ResourcePolicyKind. A service principal has no identity policies: only
// the resource policy can allow it. Key policies follow "Key policies in
// AWS KMS": without permission from the key policy, IAM policies that allow
// have no effect.
//
// Any error (an invalid or unsupported policy, an unknown condition key, a
// malformed request) comes with an ImplicitDeny result: fail closed.
func Evaluate(req Request, identity []Source, resource []Source, kind ResourcePolicyKind) (Result, error) {
	failed := Result{Decision: ImplicitDeny, Reason: "because the request could not be evaluated"}
	e, err := newEvaluator(req)
	if err != nil {
		return failed, err
	}
	if kind != OrdinaryResourcePolicy && kind != KeyPolicy {
		return failed, fmt.Errorf("%w: unknown resource policy kind %d", ErrInvalidRequest, kind)
	}
	if e.service != "" && len(identity) > 0 {
		return failed, fmt.Errorf("%w: service principal %s has no identity-based policies", ErrInvalidRequest, e.service)
	}
	for _, src := range identity {
		if err := validateSource(src, false); err != nil {
			return failed, err
		}
	}
	for _, src := range resource {
		if err := validateSource(src, true); err != nil {
			return failed, err
		}
	}

	// The first matching statement of each sort, in source order.
	var idDeny, idAllow, resDeny, resDirect, resAccount *Match
	first := func(m **Match, src Source, i int) {
		if *m == nil {
			*m = &Match{Source: src.Name, Statement: i, Sid: src.Doc.Statement[i].Sid}
		}
	}
	for _, src := range identity {
		for i := range src.Doc.Statement {
			st := &src.Doc.Statement[i]
			ok, _, err := e.applies(st, false)
			if err != nil {
				return failed, fmt.Errorf("%s statement %d%s: %w", src.Name, i, sidSuffix(st.Sid), err)
			}
			switch {
			case !ok:
			case st.Effect == "Deny":
				first(&idDeny, src, i)
			default:
				first(&idAllow, src, i)
			}
		}
	}
	for _, src := range resource {
		for i := range src.Doc.Statement {
			st := &src.Doc.Statement[i]
			ok, pm, err := e.applies(st, true)
			if err != nil {
				return failed, fmt.Errorf("%s statement %d%s: %w", src.Name, i, sidSuffix(st.Sid), err)
			}
			switch {
			case !ok:
			case st.Effect == "Deny":
				first(&resDeny, src, i)
			case pm == principalDirect:
				first(&resDirect, src, i)
			default:
				first(&resAccount, src, i)
			}
		}
	}

	switch {
	case idDeny != nil:
		return e.deny(idDeny, IdentityBased), nil
	case resDeny != nil:
		return e.deny(resDeny, ResourceBased), nil
	case e.service != "":
		if resDirect != nil {
			return allow(resDirect, nil, ResourceBased), nil
		}
		return e.noAllow(ResourceBased), nil
	}
	resAllow := resDirect
	if resAllow == nil {
		resAllow = resAccount
	}
	switch {
	case req.ResourceAccount != "" && req.ResourceAccount != e.account:
		if idAllow == nil {
			return e.noAllow(IdentityBased), nil
		}
		if resAllow == nil {
			return e.noAllow(ResourceBased), nil
		}
		return allow(idAllow, resAllow, IdentityBased), nil
	case kind == KeyPolicy:
		if resDirect != nil {
			return allow(resDirect, nil, ResourceBased), nil
		}
		if resAccount == nil {
			return e.noAllow(ResourceBased), nil
		}
		if idAllow == nil {
			return e.noAllow(IdentityBased), nil
		}
		return allow(idAllow, resAccount, IdentityBased), nil
	default:
		if idAllow != nil {
			return allow(idAllow, nil, IdentityBased), nil
		}
		if resDirect != nil {
			return allow(resDirect, nil, ResourceBased), nil
		}
		return e.noAllow(IdentityBased), nil
	}
}

func allow(by, also *Match, pt PolicyType) Result {
	return Result{Decision: Allow, Allowed: true, By: by, Also: also, Policy: pt}
}

func (e *evaluator) deny(by *Match, pt PolicyType) Result {
	article := "an"
	if pt == ResourceBased {
		article = "a"
	}
	return Result{Decision: ExplicitDeny, By: by, Policy: pt,
		Reason: fmt.Sprintf("with an explicit deny in %s %s policy", article, pt)}
}

func (e *evaluator) noAllow(pt PolicyType) Result {
	return Result{Decision: ImplicitDeny, Policy: pt,
		Reason: fmt.Sprintf("because no %s policy allows the %s action", pt, e.req.Action)}
}

// validateSource validates a document and its place: identity-based
// policies name no principal ("IAM JSON policy elements: Principal": you
// cannot use it in an identity-based policy); resource-based ones must.
func validateSource(src Source, resourcePolicy bool) error {
	if err := src.Doc.Validate(); err != nil {
		return fmt.Errorf("%s: %w", src.Name, err)
	}
	for i, st := range src.Doc.Statement {
		hasPrincipal := st.Principal != nil || st.NotPrincipal != nil
		switch {
		case resourcePolicy && !hasPrincipal:
			return fmt.Errorf("%s statement %d%s: %w: resource-based policy statement without Principal", src.Name, i, sidSuffix(st.Sid), ErrInvalidPolicy)
		case !resourcePolicy && hasPrincipal:
			return fmt.Errorf("%s statement %d%s: %w: identity-based policy statement with Principal", src.Name, i, sidSuffix(st.Sid), ErrInvalidPolicy)
		}
	}
	return nil
}

// evaluator holds a checked request.
type evaluator struct {
	req     Request
	arn     []string // PrincipalARN's six parts; nil for a service
	account string
	service string
	keys    map[string][]string // lower-cased names
}

func newEvaluator(req Request) (*evaluator, error) {
	e := &evaluator{req: req, service: req.PrincipalService, keys: map[string][]string{}}
	if strings.ContainsAny(req.Action, "*?") || validateAction(req.Action) != nil || req.Action == "*" {
		return nil, fmt.Errorf("%w: action %q (want service:Action)", ErrInvalidRequest, req.Action)
	}
	if req.Resource == "" {
		return nil, fmt.Errorf("%w: no resource (use \"*\" for actions without resource types)", ErrInvalidRequest)
	}
	switch {
	case req.PrincipalARN != "" && req.PrincipalService != "":
		return nil, fmt.Errorf("%w: both PrincipalARN and PrincipalService", ErrInvalidRequest)
	case req.PrincipalService != "":
		if req.PrincipalAccount != "" {
			return nil, fmt.Errorf("%w: a service principal has no account", ErrInvalidRequest)
		}
	case req.PrincipalARN != "":
		parts, ok := arnParts(req.PrincipalARN)
		if !ok || !isAccountID(parts[4]) {
			return nil, fmt.Errorf("%w: PrincipalARN %q is not a principal ARN", ErrInvalidRequest, req.PrincipalARN)
		}
		if req.PrincipalAccount != "" && req.PrincipalAccount != parts[4] {
			return nil, fmt.Errorf("%w: PrincipalAccount %s differs from the account of %s", ErrInvalidRequest, req.PrincipalAccount, req.PrincipalARN)
		}
		e.arn, e.account = parts, parts[4]
	default:
		return nil, fmt.Errorf("%w: no principal (set PrincipalARN or PrincipalService)", ErrInvalidRequest)
	}
	for k, v := range req.Keys {
		lower := strings.ToLower(k)
		if _, dup := e.keys[lower]; dup {
			return nil, fmt.Errorf("%w: key %s given twice (key names are case-insensitive)", ErrInvalidRequest, k)
		}
		e.keys[lower] = v
	}
	return e, nil
}

// applies reports whether the statement applies to the request, and for a
// resource-based statement how its principal matched.
func (e *evaluator) applies(st *Statement, resourcePolicy bool) (bool, principalMatch, error) {
	if !matchesAny(st.Action, st.NotAction, e.req.Action, ActionMatches) {
		return false, principalNone, nil
	}
	// Key names are checked for every statement about this action, before
	// anything else can make the statement not apply, so that a misspelt key
	// is reported whatever the request.
	if err := e.checkKeys(st); err != nil {
		return false, principalNone, err
	}
	if (st.Resource != nil || st.NotResource != nil) &&
		!matchesAny(st.Resource, st.NotResource, e.req.Resource, ResourceMatches) {
		return false, principalNone, nil
	}
	pm := principalNone
	if resourcePolicy {
		switch {
		case st.Principal != nil:
			pm = e.matchPrincipal(st.Principal)
		case st.NotPrincipal != nil && !e.excluded(st.NotPrincipal):
			pm = principalDirect
		}
		if pm == principalNone {
			return false, pm, nil
		}
	}
	ok, err := e.conditions(st)
	if err != nil || !ok {
		return false, principalNone, err
	}
	return true, pm, nil
}

// matchesAny: with list set, value matches one entry; with notList set, it
// matches none.
func matchesAny(list, notList []string, value string, match func(p, v string) bool) bool {
	if list != nil {
		return slices.ContainsFunc(list, func(p string) bool { return match(p, value) })
	}
	return !slices.ContainsFunc(notList, func(p string) bool { return match(p, value) })
}

func (e *evaluator) checkKeys(st *Statement) error {
	if e.req.KnownKeys == nil {
		return nil
	}
	for _, op := range sortedKeys(st.Condition) {
		for _, key := range sortedKeys(st.Condition[op]) {
			lower := strings.ToLower(key)
			if _, ok := e.keys[lower]; ok || knownKey(lower, e.req.KnownKeys) {
				continue
			}
			return fmt.Errorf("%w %s for action %s", ErrUnknownKey, key, e.req.Action)
		}
	}
	return nil
}

// conditions evaluates every operator and key (all of them, so that a
// malformed request value is reported even when an earlier condition is
// already false) and AND-s the results.
func (e *evaluator) conditions(st *Statement) (bool, error) {
	all := true
	for _, name := range sortedKeys(st.Condition) {
		op, err := parseOperator(name)
		if err != nil {
			return false, err
		}
		for _, key := range sortedKeys(st.Condition[name]) {
			ok, err := op.eval(key, st.Condition[name][key], e.keys[strings.ToLower(key)])
			if err != nil {
				return false, fmt.Errorf("condition %s %s: %w", name, key, err)
			}
			all = all && ok
		}
	}
	return all, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// principalMatch is how a Principal element matched the caller.
type principalMatch int

const (
	principalNone principalMatch = iota
	// principalAccount: the element names the caller's account (ID or
	// root ARN), which delegates to the account's identity policies.
	principalAccount
	// principalDirect: the element names the caller itself, or "*".
	principalDirect
)

// matchPrincipal follows "AWS JSON policy elements: Principal": "*" (or
// {"AWS": "*"}) is everyone, services included; an account ID or root ARN
// is the account; a role or user ARN is that principal, and a role ARN also
// covers the role's sessions. Federated and CanonicalUser principals never
// match: a Request cannot be one.
func (e *evaluator) matchPrincipal(p *Principal) principalMatch {
	if p.Any {
		return principalDirect
	}
	if e.service != "" {
		if slices.Contains(p.Service, e.service) {
			return principalDirect
		}
		return principalNone
	}
	best := principalNone
	for _, a := range p.AWS {
		best = max(best, e.matchAWS(a))
	}
	return best
}

func (e *evaluator) matchAWS(a string) principalMatch {
	if a == "*" {
		return principalDirect
	}
	if a == e.req.PrincipalARN {
		return principalDirect
	}
	if isAccountID(a) {
		if a == e.account {
			return principalAccount
		}
		return principalNone
	}
	parts, ok := arnParts(a)
	if !ok || parts[1] != e.arn[1] || parts[4] != e.account {
		return principalNone
	}
	if parts[2] == "iam" && parts[5] == "root" {
		return principalAccount
	}
	// A role ARN (which may have a path) against a session
	// arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION.
	if role, ok := strings.CutPrefix(parts[5], "role/"); ok && parts[2] == "iam" && e.arn[2] == "sts" {
		if session, ok := strings.CutPrefix(e.arn[5], "assumed-role/"); ok {
			name, _, _ := strings.Cut(session, "/")
			if role[strings.LastIndex(role, "/")+1:] == name {
				return principalDirect
			}
		}
	}
	return principalNone
}

// excluded reports whether a NotPrincipal element exempts the caller. "AWS
// JSON policy elements: NotPrincipal": AWS checks the account and then the
// principal, so a principal is exempt only when both its account and
// itself (or, for a session, its role) are listed; the account root is
// exempt when the account is listed.
func (e *evaluator) excluded(p *Principal) bool {
	if p.Any {
		return true
	}
	if e.service != "" {
		return slices.Contains(p.Service, e.service)
	}
	var account, self bool
	for _, a := range p.AWS {
		account = account || e.namesAccount(a)
		self = self || e.matchAWS(a) == principalDirect
	}
	isRoot := e.arn[2] == "iam" && e.arn[5] == "root"
	return account && (self || isRoot)
}

// namesAccount: a is the caller's account ID or its root ARN.
func (e *evaluator) namesAccount(a string) bool {
	if isAccountID(a) {
		return a == e.account
	}
	parts, ok := arnParts(a)
	return ok && parts[1] == e.arn[1] && parts[2] == "iam" && parts[4] == e.account && parts[5] == "root"
}
