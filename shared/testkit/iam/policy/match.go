package policy

import "strings"

// Like reports whether s matches pattern with IAM wildcards (* any run, ?
// one character), case-sensitive. It is the matching of StringLike ("IAM
// JSON policy elements: Condition operators").
func Like(pattern, s string) bool {
	return glob([]rune(pattern), []rune(s), func(int, rune) bool { return true })
}

// ActionMatches reports whether action ("ec2:DeleteVolume") matches an
// Action element entry ("ec2:Delete*", "*"). Action names are
// case-insensitive ("IAM JSON policy elements: Action").
func ActionMatches(pattern, action string) bool {
	return Like(strings.ToLower(pattern), strings.ToLower(action))
}

// ResourceMatches reports whether resource (an ARN, or "*" for actions
// without resource types) matches a Resource element entry, case-sensitive.
// "IAM JSON policy elements: Resource": wildcards work within the segments
// of an ARN (the parts separated by colons); a * that is the last character
// of a segment may expand beyond the colon boundaries. So "?" and a * in
// the middle of a segment never match a colon.
func ResourceMatches(pattern, resource string) bool {
	if pattern == "*" {
		return true
	}
	p := []rune(pattern)
	return glob(p, []rune(resource), func(i int, c rune) bool {
		if c != ':' {
			return true
		}
		// The wildcard at p[i] may cross a colon only when it ends its
		// segment.
		return p[i] == '*' && (i+1 == len(p) || p[i+1] == ':')
	})
}

// glob matches p against s. mayMatch(i, c) says whether the wildcard at
// p[i] may consume the character c. Dynamic programming over suffixes, so
// that wildcards of different powers combine correctly.
func glob(p, s []rune, mayMatch func(i int, c rune) bool) bool {
	// next[j]: p[i+1:] matches s[j:]; cur[j]: p[i:] matches s[j:].
	next := make([]bool, len(s)+1)
	cur := make([]bool, len(s)+1)
	next[len(s)] = true
	for i := len(p) - 1; i >= 0; i-- {
		for j := len(s); j >= 0; j-- {
			switch {
			case p[i] == '*':
				cur[j] = next[j] || (j < len(s) && mayMatch(i, s[j]) && cur[j+1])
			case j == len(s):
				cur[j] = false
			case p[i] == '?':
				cur[j] = mayMatch(i, s[j]) && next[j+1]
			default:
				cur[j] = p[i] == s[j] && next[j+1]
			}
		}
		next, cur = cur, next
	}
	return next[0]
}

// arnParts splits an ARN into its six colon-separated parts; the resource
// part may itself contain colons.
func arnParts(s string) ([]string, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return nil, false
	}
	return parts, true
}

// arnLike is ArnLike and ArnEquals: "IAM JSON policy elements: Condition
// operators" documents both as case-sensitive matching in which each of the
// six colon-delimited parts is checked separately and may hold * and ?. A
// value that is not an ARN matches nothing.
func arnLike(pattern, value string) bool {
	pp, ok := arnParts(pattern)
	if !ok {
		return false
	}
	vp, ok := arnParts(value)
	if !ok {
		return false
	}
	for i := range pp {
		if !Like(pp[i], vp[i]) {
			return false
		}
	}
	return true
}
