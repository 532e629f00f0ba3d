package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Errors a caller can decide on with errors.Is. Every error Evaluate returns
// wraps one of them; callers treat any error as a deny.
var (
	// ErrInvalidPolicy: the document breaks the IAM policy grammar (bad
	// JSON, an unknown element, a bad Effect, a Bool value that is not
	// true or false, ...).
	ErrInvalidPolicy = errors.New("invalid policy")
	// ErrUnsupported: the document uses something this package does not
	// model (a condition operator outside the supported set, a policy
	// variable).
	ErrUnsupported = errors.New("unsupported policy feature")
	// ErrUnknownKey: a condition names a key the action does not support
	// and that is not global (see Request.KnownKeys).
	ErrUnknownKey = errors.New("unknown condition key")
	// ErrInvalidRequest: the Request itself is malformed.
	ErrInvalidRequest = errors.New("invalid request")
)

// Document is an IAM policy document.
type Document struct {
	Version string
	// ID is the optional top-level "Id" element.
	ID        string
	Statement []Statement
}

// Statement is one statement.
type Statement struct {
	Sid          string
	Effect       string // "Allow" or "Deny"
	Principal    *Principal
	NotPrincipal *Principal
	Action       []string
	NotAction    []string
	// Resource and NotResource: a statement with a Principal or
	// NotPrincipal (a trust policy) may have neither; it then applies to
	// every resource, as if Resource were "*".
	Resource    []string
	NotResource []string
	Condition   map[string]map[string][]string // operator -> key -> values
}

// Principal is the Principal or NotPrincipal element.
type Principal struct {
	Any       bool     // "*" or {"AWS": "*"}
	AWS       []string // account IDs, "arn:aws:iam::123456789012:root", role/user ARNs, "*"
	Service   []string
	Federated []string
	// CanonicalUser is parsed so that such documents are accepted, but a
	// Request cannot name a canonical user, so it never matches.
	CanonicalUser []string
}

// Source is one policy with a name for reports, e.g.
// "SnapshotOnVolumeCreateRole/ec2" or "RootVolumeBusPolicy".
type Source struct {
	Name string
	Doc  Document
}

// Parse reads a policy document from JSON. Statement may be one object or a
// list. Action, NotAction, Resource, NotResource may each be a string or a
// list of strings. Principal and NotPrincipal may be "*" or an object with
// the keys AWS, Service, Federated and CanonicalUser, each a string or a
// list. Condition is {"Operator": {"key": string|number|bool|list}}; values
// are kept as strings (true -> "true", numbers in their JSON text).
//
// Parse is strict, because a lenient reader would make a policy mean
// something else here than in AWS: element names are case-sensitive,
// unknown elements and duplicate object keys are errors (encoding/json
// would silently keep the last of two "StringEquals" blocks), and the
// statement is validated as Evaluate validates it (see validateStatement).
// Every error wraps ErrInvalidPolicy or ErrUnsupported.
func Parse(data []byte) (Document, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return Document{}, fmt.Errorf("%w: invalid JSON: %v", ErrInvalidPolicy, err)
	}
	if top == nil {
		return Document{}, fmt.Errorf("%w: policy document is not a JSON object", ErrInvalidPolicy)
	}
	if err := checkDuplicateKeys(data); err != nil {
		return Document{}, fmt.Errorf("%w: %v", ErrInvalidPolicy, err)
	}
	var doc Document
	for name, raw := range top {
		var err error
		switch name {
		case "Version":
			err = json.Unmarshal(raw, &doc.Version)
		case "Id":
			err = json.Unmarshal(raw, &doc.ID)
		case "Statement":
			doc.Statement, err = parseStatements(raw)
		default:
			err = fmt.Errorf("unknown top-level element %q", name)
		}
		if err != nil {
			return Document{}, wrapInvalid(name, err)
		}
	}
	if _, ok := top["Statement"]; !ok {
		return Document{}, fmt.Errorf("%w: missing Statement", ErrInvalidPolicy)
	}
	if err := doc.Validate(); err != nil {
		return Document{}, err
	}
	return doc, nil
}

// wrapInvalid keeps an already classified error and classifies the rest as
// ErrInvalidPolicy.
func wrapInvalid(where string, err error) error {
	if errors.Is(err, ErrInvalidPolicy) || errors.Is(err, ErrUnsupported) {
		return err
	}
	return fmt.Errorf("%w: %s: %v", ErrInvalidPolicy, where, err)
}

func parseStatements(raw json.RawMessage) ([]Statement, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '{' {
		st, err := parseStatement(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: statement 0: %v", ErrInvalidPolicy, err)
		}
		return []Statement{st}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("must be an object or a list of objects")
	}
	out := make([]Statement, 0, len(list))
	for i, r := range list {
		st, err := parseStatement(r)
		if err != nil {
			return nil, fmt.Errorf("%w: statement %d: %v", ErrInvalidPolicy, i, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Statement{}, errors.New("statement is not a JSON object")
	}
	var st Statement
	for name, r := range fields {
		var err error
		switch name {
		case "Sid":
			err = json.Unmarshal(r, &st.Sid)
		case "Effect":
			err = json.Unmarshal(r, &st.Effect)
		case "Principal":
			st.Principal, err = parsePrincipal(r)
		case "NotPrincipal":
			st.NotPrincipal, err = parsePrincipal(r)
		case "Action":
			st.Action, err = stringOrList(r)
		case "NotAction":
			st.NotAction, err = stringOrList(r)
		case "Resource":
			st.Resource, err = stringOrList(r)
		case "NotResource":
			st.NotResource, err = stringOrList(r)
		case "Condition":
			st.Condition, err = parseCondition(r)
		default:
			err = errors.New("unknown statement element")
		}
		if err != nil {
			return Statement{}, fmt.Errorf("%s: %v", name, err)
		}
	}
	return st, nil
}

// stringOrList reads a string or a list of strings.
func stringOrList(raw json.RawMessage) ([]string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return []string{s}, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil || list == nil {
		return nil, errors.New("must be a string or a list of strings")
	}
	return list, nil
}

func parsePrincipal(raw json.RawMessage) (*Principal, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s != "*" {
			return nil, fmt.Errorf("string principal %q: only \"*\" may be a string, use {\"AWS\": ...}", s)
		}
		return &Principal{Any: true}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return nil, errors.New(`must be "*" or an object`)
	}
	p := &Principal{}
	for name, r := range obj {
		list, err := stringOrList(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		switch name {
		case "AWS":
			p.AWS = list
			for _, a := range list {
				if a == "*" {
					p.Any = true
				}
			}
		case "Service":
			p.Service = list
		case "Federated":
			p.Federated = list
		case "CanonicalUser":
			p.CanonicalUser = list
		default:
			return nil, fmt.Errorf("unknown principal type %q", name)
		}
	}
	return p, nil
}

func parseCondition(raw json.RawMessage) (map[string]map[string][]string, error) {
	var ops map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ops); err != nil || ops == nil {
		return nil, errors.New(`must be {"Operator": {"key": value}}`)
	}
	out := make(map[string]map[string][]string, len(ops))
	for op, keys := range ops {
		if keys == nil {
			return nil, fmt.Errorf("%s: must be an object of keys", op)
		}
		m := make(map[string][]string, len(keys))
		for key, r := range keys {
			vals, err := conditionValues(r)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %v", op, key, err)
			}
			m[key] = vals
		}
		out[op] = m
	}
	return out, nil
}

// conditionValues reads a string, number or bool, or a list of them, as
// strings: numbers keep their JSON text, booleans become "true"/"false".
func conditionValues(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if list, ok := v.([]any); ok {
		out := make([]string, 0, len(list))
		for _, e := range list {
			s, err := scalar(e)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	s, err := scalar(v)
	if err != nil {
		return nil, err
	}
	return []string{s}, nil
}

func scalar(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case nil:
		return "", errors.New("null is not a condition value")
	default:
		return "", errors.New("a condition value must be a string, number or bool")
	}
}

// checkDuplicateKeys walks valid JSON and reports the first object that
// names a key twice.
func checkDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	return walkDuplicates(dec, "$")
}

func walkDuplicates(dec *json.Decoder, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return err
			}
			key, _ := kt.(string)
			if seen[key] {
				return fmt.Errorf("duplicate key %q in %s", key, path)
			}
			seen[key] = true
			if err := walkDuplicates(dec, path+"."+key); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			if err := walkDuplicates(dec, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

// Validate reports the first problem that makes the document one this
// package cannot evaluate as AWS would. Evaluate calls it on every source;
// Parse calls it on what it read.
func (d Document) Validate() error {
	switch d.Version {
	case "", "2012-10-17", "2008-10-17":
	default:
		return fmt.Errorf("%w: Version %q (want 2012-10-17)", ErrInvalidPolicy, d.Version)
	}
	if len(d.Statement) == 0 {
		return fmt.Errorf("%w: no statements", ErrInvalidPolicy)
	}
	for i := range d.Statement {
		if err := validateStatement(&d.Statement[i]); err != nil {
			return fmt.Errorf("statement %d%s: %w", i, sidSuffix(d.Statement[i].Sid), err)
		}
	}
	return nil
}

func sidSuffix(sid string) string {
	if sid == "" {
		return ""
	}
	return " (" + sid + ")"
}

// validateStatement checks one statement. The rules follow "IAM JSON
// policy element reference" (Effect, Action/NotAction, Resource/NotResource,
// Principal/NotPrincipal, Condition) and "AWS JSON policy elements:
// NotPrincipal" (NotPrincipal only with Deny).
func validateStatement(st *Statement) error {
	if st.Effect != "Allow" && st.Effect != "Deny" {
		return fmt.Errorf("%w: Effect %q (want Allow or Deny)", ErrInvalidPolicy, st.Effect)
	}
	switch {
	case st.Action != nil && st.NotAction != nil:
		return fmt.Errorf("%w: both Action and NotAction", ErrInvalidPolicy)
	case st.Action == nil && st.NotAction == nil:
		return fmt.Errorf("%w: neither Action nor NotAction", ErrInvalidPolicy)
	}
	for _, a := range append(st.Action, st.NotAction...) {
		if err := validateAction(a); err != nil {
			return err
		}
	}
	if len(st.Action)+len(st.NotAction) == 0 {
		return fmt.Errorf("%w: empty Action list", ErrInvalidPolicy)
	}
	if st.Principal != nil && st.NotPrincipal != nil {
		return fmt.Errorf("%w: both Principal and NotPrincipal", ErrInvalidPolicy)
	}
	if st.NotPrincipal != nil && st.Effect != "Deny" {
		return fmt.Errorf("%w: NotPrincipal with Allow (AWS supports it only with Deny)", ErrInvalidPolicy)
	}
	for _, p := range []*Principal{st.Principal, st.NotPrincipal} {
		if err := validatePrincipal(p); err != nil {
			return err
		}
	}
	switch {
	case st.Resource != nil && st.NotResource != nil:
		return fmt.Errorf("%w: both Resource and NotResource", ErrInvalidPolicy)
	case st.Resource == nil && st.NotResource == nil && st.Principal == nil && st.NotPrincipal == nil:
		return fmt.Errorf("%w: neither Resource nor NotResource", ErrInvalidPolicy)
	case (st.Resource != nil || st.NotResource != nil) && len(st.Resource)+len(st.NotResource) == 0:
		return fmt.Errorf("%w: empty Resource list", ErrInvalidPolicy)
	}
	for _, r := range append(st.Resource, st.NotResource...) {
		if err := validateResource(r); err != nil {
			return err
		}
	}
	for op, keys := range st.Condition {
		spec, err := parseOperator(op)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("%w: condition operator %s has no keys", ErrInvalidPolicy, op)
		}
		for key, vals := range keys {
			if err := spec.validate(key, vals); err != nil {
				return fmt.Errorf("condition %s %s: %w", op, key, err)
			}
		}
	}
	return nil
}

func validateAction(a string) error {
	if a == "*" {
		return nil
	}
	svc, name, ok := strings.Cut(a, ":")
	if !ok || svc == "" || name == "" || strings.ContainsAny(svc, "*?") {
		return fmt.Errorf("%w: action %q (want service:Action)", ErrInvalidPolicy, a)
	}
	return nil
}

// validateResource accepts "*" or an ARN pattern. "IAM JSON policy
// elements: Resource": wildcards may not stand for the service.
func validateResource(r string) error {
	if strings.Contains(r, "${") {
		return fmt.Errorf("%w: policy variable in Resource %q (resolve it before evaluating)", ErrUnsupported, r)
	}
	if r == "*" {
		return nil
	}
	parts := strings.SplitN(r, ":", 6)
	if parts[0] != "arn" || len(parts) < 3 {
		return fmt.Errorf("%w: Resource %q is neither \"*\" nor an ARN", ErrInvalidPolicy, r)
	}
	if strings.ContainsAny(parts[2], "*?") {
		return fmt.Errorf("%w: Resource %q has a wildcard in the service segment", ErrInvalidPolicy, r)
	}
	return nil
}

func validatePrincipal(p *Principal) error {
	if p == nil {
		return nil
	}
	if !p.Any && len(p.AWS)+len(p.Service)+len(p.Federated)+len(p.CanonicalUser) == 0 {
		return fmt.Errorf("%w: empty principal", ErrInvalidPolicy)
	}
	for _, a := range p.AWS {
		switch {
		case a == "*", isAccountID(a):
		case strings.HasPrefix(a, "arn:"):
			if strings.ContainsAny(a, "*?") {
				return fmt.Errorf("%w: wildcard in principal %q (use a condition on aws:PrincipalArn)", ErrInvalidPolicy, a)
			}
		default:
			return fmt.Errorf("%w: AWS principal %q is neither \"*\", an account ID nor an ARN", ErrInvalidPolicy, a)
		}
	}
	for _, s := range p.Service {
		if s == "" || strings.ContainsAny(s, "*?") {
			return fmt.Errorf("%w: Service principal %q", ErrInvalidPolicy, s)
		}
	}
	return nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
