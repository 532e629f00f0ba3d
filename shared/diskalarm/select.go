package diskalarm

import (
	"fmt"
	"strings"
	"unicode"
)

// Instance states that still exist; terminated and shutting-down instances
// are gone as far as alarms are concerned.
var liveStates = []string{"pending", "running", "stopping", "stopped"}

const stateRunning = "running"

// Instance is what the suite needs of an EC2 instance.
type Instance struct {
	ID    string
	Name  string // the Name tag
	State string
	Tags  map[string]string
}

// Tag is the opt-in tag (ALARM_TAG), key=value.
type Tag struct {
	Key, Value string
}

func (t Tag) String() string {
	if t == (Tag{}) {
		return ""
	}
	return t.Key + "=" + t.Value
}

// ParseTag reads "key=value"; the value may be empty, as EC2 allows.
func ParseTag(s string) (Tag, error) {
	key, value, ok := strings.Cut(s, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch {
	case !ok || key == "":
		return Tag{}, fmt.Errorf("%w: tag %q is not key=value", ErrBadInput, s)
	case len(key) > 128 || len(value) > 256:
		return Tag{}, fmt.Errorf("%w: tag %q is longer than EC2 allows (key 128, value 256)", ErrBadInput, s)
	}
	return Tag{Key: key, Value: value}, nil
}

// Selector says which instances get alarms: those whose Name tag matches
// NamePattern, and those that carry Tag. The zero Selector selects nothing.
type Selector struct {
	NamePattern string
	Tag         Tag
}

// Empty reports whether the selector selects nothing at all.
func (s Selector) Empty() bool { return s.NamePattern == "" && s.Tag == (Tag{}) }

// Selects reports whether the instance is selected. Only live instances are.
func (s Selector) Selects(i Instance) bool {
	if !isLive(i.State) {
		return false
	}
	// Like EC2's tag:Name filter, a pattern matches only instances that
	// have a Name tag: "*" is every named instance.
	if _, named := i.Tags["Name"]; named && s.NamePattern != "" && MatchName(s.NamePattern, i.Name) {
		return true
	}
	if s.Tag != (Tag{}) {
		if v, ok := i.Tags[s.Tag.Key]; ok && v == s.Tag.Value {
			return true
		}
	}
	return false
}

func (s Selector) String() string {
	var parts []string
	if s.NamePattern != "" {
		parts = append(parts, fmt.Sprintf("Name matches %q", s.NamePattern))
	}
	if s.Tag != (Tag{}) {
		parts = append(parts, "tagged "+s.Tag.String())
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, " or ")
}

// ValidatePattern checks a Name pattern from outside (the operators'
// hostname, INSTANCE_NAME_PATTERN).
func ValidatePattern(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: the name pattern is empty (use \"*\" for every named instance)", ErrBadInput)
	case len(p) > 256:
		return fmt.Errorf("%w: the name pattern is %d bytes; Name tags hold at most 256", ErrBadInput, len(p))
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: the name pattern holds control characters", ErrBadInput)
	}
	return nil
}

func isLive(state string) bool {
	for _, s := range liveStates {
		if s == state {
			return true
		}
	}
	return false
}

// MatchName matches a Name tag against a pattern where * stands for any run
// of characters and ? for one, case-sensitive, as EC2's tag filters do.
func MatchName(pattern, name string) bool {
	p, n := []rune(pattern), []rune(name)
	// Greedy match with one backtrack point: the last star seen.
	pi, ni, star, mark := 0, 0, -1, 0
	for ni < len(n) {
		// A star in the pattern is always a wildcard, even facing a
		// literal '*' in the name, so it is tried first.
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ni
			pi++
		case pi < len(p) && (p[pi] == '?' || p[pi] == n[ni]):
			pi++
			ni++
		case star >= 0:
			pi = star + 1
			mark++
			ni = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
