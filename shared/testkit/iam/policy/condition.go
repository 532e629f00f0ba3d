package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// The condition semantics here follow three IAM User Guide pages:
//   - "IAM JSON policy elements: Condition operators": a key absent from the
//     request context makes a condition false, except that a negated
//     operator (StringNotLike, ArnNotLike, ...) is then true; ...IfExists
//     is true when the key is absent; Null tests presence alone.
//   - "Conditions with multiple context keys or values": operators are
//     AND-ed, keys within one operator are AND-ed, the values listed for one
//     key are OR-ed, and for a negated operator the listed values work as a
//     logical AND (the key equals none of them).
//   - "Single-valued vs. multivalued context keys": ForAllValues is true
//     when every request value matches some listed value, and also when the
//     key is absent or has no values; ForAnyValue needs at least one request
//     value that matches, so it is false when the key is absent.

// setKind is the set operator prefix of a condition operator.
type setKind int

const (
	setNone setKind = iota
	setAnyValue
	setAllValues
)

// matchKind is how one request value is compared with one policy value.
type matchKind int

const (
	matchString matchKind = iota
	matchStringIgnoreCase
	matchStringLike
	matchArn
	matchBool
	matchNull
	matchNumeric
)

// baseOperator is a condition operator without prefix and IfExists.
type baseOperator struct {
	kind    matchKind
	negated bool
	// cmp, for numeric operators, says whether request value r against
	// policy value p holds.
	cmp func(r, p float64) bool
}

var baseOperators = map[string]baseOperator{
	"StringEquals":              {kind: matchString},
	"StringNotEquals":           {kind: matchString, negated: true},
	"StringEqualsIgnoreCase":    {kind: matchStringIgnoreCase},
	"StringNotEqualsIgnoreCase": {kind: matchStringIgnoreCase, negated: true},
	"StringLike":                {kind: matchStringLike},
	"StringNotLike":             {kind: matchStringLike, negated: true},
	"ArnEquals":                 {kind: matchArn},
	"ArnNotEquals":              {kind: matchArn, negated: true},
	"ArnLike":                   {kind: matchArn},
	"ArnNotLike":                {kind: matchArn, negated: true},
	"Bool":                      {kind: matchBool},
	"Null":                      {kind: matchNull},
	"NumericEquals":             {kind: matchNumeric, cmp: func(r, p float64) bool { return r == p }},
	// NumericNotEquals is the negation of NumericEquals, so that several
	// listed values work as a logical AND, as for the other negated
	// operators.
	"NumericNotEquals":         {kind: matchNumeric, negated: true, cmp: func(r, p float64) bool { return r == p }},
	"NumericLessThan":          {kind: matchNumeric, cmp: func(r, p float64) bool { return r < p }},
	"NumericLessThanEquals":    {kind: matchNumeric, cmp: func(r, p float64) bool { return r <= p }},
	"NumericGreaterThan":       {kind: matchNumeric, cmp: func(r, p float64) bool { return r > p }},
	"NumericGreaterThanEquals": {kind: matchNumeric, cmp: func(r, p float64) bool { return r >= p }},
}

// operator is a parsed condition operator such as
// "ForAllValues:StringLikeIfExists".
type operator struct {
	name     string
	base     baseOperator
	set      setKind
	ifExists bool
}

// parseOperator reads an operator name. Names are matched exactly; an
// operator this package does not model (DateEquals, IpAddress,
// BinaryEquals, a misspelling) is an error naming it.
func parseOperator(name string) (operator, error) {
	op := operator{name: name}
	rest := name
	switch {
	case strings.HasPrefix(rest, "ForAllValues:"):
		op.set, rest = setAllValues, strings.TrimPrefix(rest, "ForAllValues:")
	case strings.HasPrefix(rest, "ForAnyValue:"):
		op.set, rest = setAnyValue, strings.TrimPrefix(rest, "ForAnyValue:")
	}
	if b, ok := strings.CutSuffix(rest, "IfExists"); ok {
		op.ifExists, rest = true, b
	}
	base, ok := baseOperators[rest]
	if !ok {
		return operator{}, fmt.Errorf("%w: unknown condition operator %q", ErrUnsupported, name)
	}
	op.base = base
	if base.kind == matchNull && (op.ifExists || op.set != setNone) {
		return operator{}, fmt.Errorf("%w: condition operator %q: Null takes neither IfExists nor a set prefix", ErrInvalidPolicy, name)
	}
	if op.set != setNone && base.kind != matchString && base.kind != matchStringIgnoreCase &&
		base.kind != matchStringLike && base.kind != matchArn {
		return operator{}, fmt.Errorf("%w: condition operator %q: set prefixes are supported only on String and Arn operators", ErrUnsupported, name)
	}
	return op, nil
}

// validate checks a key and its listed values.
func (op operator) validate(key string, vals []string) error {
	if !strings.Contains(key, ":") || strings.Contains(key, "${") {
		return fmt.Errorf("%w: malformed condition key %q", ErrInvalidPolicy, key)
	}
	if len(vals) == 0 {
		return fmt.Errorf("%w: no values", ErrInvalidPolicy)
	}
	for _, v := range vals {
		if strings.Contains(v, "${") {
			return fmt.Errorf("%w: policy variable in value %q (resolve it before evaluating)", ErrUnsupported, v)
		}
		switch op.base.kind {
		case matchBool, matchNull:
			if v != "true" && v != "false" {
				return fmt.Errorf("%w: %s value %q (want true or false)", ErrInvalidPolicy, op.name, v)
			}
		case matchNumeric:
			if _, err := strconv.ParseFloat(v, 64); err != nil {
				return fmt.Errorf("%w: %s value %q is not a number", ErrInvalidPolicy, op.name, v)
			}
		case matchArn:
			// An empty value names no ARN and matches none: the templates
			// default an optional principal parameter to "" so that an
			// ArnNotLike exemption exempts nobody. (The IAM docs do not say
			// whether IAM refuses such a policy; SNS and SQS store it.)
			if _, ok := arnParts(v); !ok && v != "" {
				return fmt.Errorf("%w: %s value %q is not an ARN", ErrInvalidPolicy, op.name, v)
			}
		}
	}
	return nil
}

// eval evaluates the operator for one key: vals are the listed policy
// values, req the request context's values for the key (none: absent).
// Without a set prefix a key with several request values is treated as
// ForAnyValue for a positive operator and, for a negated one, as "no
// request value matches any listed value" (the negation of the positive
// operator), so a negated operator is always the exact complement of its
// positive form.
func (op operator) eval(key string, vals, req []string) (bool, error) {
	if op.base.kind == matchNull {
		// Null: true means "the key is absent", false "present". A key with
		// no values counts as absent ("Multivalued context key examples":
		// Null false guards against missing keys and empty values).
		absent := len(req) == 0
		for _, v := range vals {
			if (v == "true") == absent {
				return true, nil
			}
		}
		return false, nil
	}
	if len(req) == 0 {
		switch {
		case op.ifExists:
			return true, nil
		case op.set == setAllValues:
			return true, nil
		case op.set == setAnyValue:
			return false, nil
		default:
			return op.base.negated, nil
		}
	}
	// matches: does the request value r match any listed value?
	matches := func(r string) (bool, error) {
		for _, p := range vals {
			ok, err := op.matchOne(key, p, r)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	// holds: the operator, negation included, for one request value.
	holds := func(r string) (bool, error) {
		m, err := matches(r)
		return m != op.base.negated, err
	}
	switch op.set {
	case setAllValues:
		for _, r := range req {
			ok, err := holds(r)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	case setAnyValue:
		for _, r := range req {
			ok, err := holds(r)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	default:
		for _, r := range req {
			m, err := matches(r)
			if err != nil {
				return false, err
			}
			if m {
				return !op.base.negated, nil
			}
		}
		return op.base.negated, nil
	}
}

// matchOne compares one request value r with one policy value p, for the
// positive form of the operator.
func (op operator) matchOne(key, p, r string) (bool, error) {
	switch op.base.kind {
	case matchString:
		return p == r, nil
	case matchStringIgnoreCase:
		return strings.EqualFold(p, r), nil
	case matchStringLike:
		return Like(p, r), nil
	case matchArn:
		return arnLike(p, r), nil
	case matchBool:
		switch r {
		case "true", "false":
			return p == r, nil
		}
		// A request value that is not a boolean would make a Deny on
		// aws:SecureTransport silently lapse: refuse it.
		return false, fmt.Errorf("%w: key %s value %q is not true or false", ErrInvalidRequest, key, r)
	case matchNumeric:
		pv, _ := strconv.ParseFloat(p, 64)
		rv, err := strconv.ParseFloat(r, 64)
		if err != nil {
			return false, fmt.Errorf("%w: key %s value %q is not a number", ErrInvalidRequest, key, r)
		}
		return op.base.cmp(rv, pv), nil
	}
	return false, fmt.Errorf("%w: operator %s", ErrUnsupported, op.name)
}

// globalKeys are the global condition keys ("AWS global condition context
// keys") that are known for every request. An entry ending in "/" is a
// prefix.
var globalKeys = []string{
	"aws:principalarn", "aws:principalaccount", "aws:principalorgid",
	"aws:principaltag/", "aws:sourcearn", "aws:sourceaccount",
	"aws:securetransport", "aws:calledvia", "aws:calledviafirst",
	"aws:calledvialast", "aws:viaawsservice", "aws:requesttag/",
	"aws:resourcetag/", "aws:tagkeys", "aws:sourceip", "aws:currenttime",
	"aws:principalservicename", "aws:principaltype", "aws:userid",
	"aws:username", "aws:resourceaccount",
}

// knownKey reports whether lower (a lower-cased key) is in the global set
// or matches an entry of known. An entry ending in "/*" or holding a
// placeholder such as "${TagKey}" matches any key with the text before it
// as prefix.
func knownKey(lower string, known []string) bool {
	for _, g := range globalKeys {
		if keyEntryMatches(g, lower) {
			return true
		}
	}
	for _, k := range known {
		k = strings.ToLower(k)
		if i := strings.Index(k, "${"); i >= 0 {
			if hasPrefix(lower, k[:i]) {
				return true
			}
		} else if p, ok := strings.CutSuffix(k, "*"); ok && strings.HasSuffix(p, "/") {
			if hasPrefix(lower, p) {
				return true
			}
		} else if k == lower {
			return true
		}
	}
	return false
}

func keyEntryMatches(entry, lower string) bool {
	if strings.HasSuffix(entry, "/") {
		return hasPrefix(lower, entry)
	}
	return entry == lower
}

// hasPrefix: s is prefix followed by at least one character.
func hasPrefix(s, prefix string) bool {
	return len(s) > len(prefix) && strings.HasPrefix(s, prefix)
}
