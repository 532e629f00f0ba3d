package diskalarm

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
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
	// Launched is the instance's LaunchTime.
	Launched time.Time
}

// Selector says which instances get alarms: those whose Name tag matches
// NamePattern, and those that carry Tag (ALARM_TAG, read by
// awsid.ParseTag). The zero Selector selects nothing.
type Selector struct {
	NamePattern string
	Tag         awsid.Tag
}

// Empty reports whether the selector selects nothing at all.
func (s Selector) Empty() bool { return s.NamePattern == "" && s.Tag.IsZero() }

// Selects reports whether the instance is selected. Only live instances are.
func (s Selector) Selects(i Instance) bool {
	if !slices.Contains(liveStates, i.State) {
		return false
	}
	// Like EC2's tag:Name filter, a pattern matches only instances that
	// have a Name tag: "*" is every named instance.
	if _, named := i.Tags["Name"]; named && s.NamePattern != "" && MatchName(s.NamePattern, i.Name) {
		return true
	}
	if !s.Tag.IsZero() {
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
	if !s.Tag.IsZero() {
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
		return badInput("the name pattern is empty (use \"*\" for every named instance)")
	case len(p) > 256:
		return badInput("the name pattern is %d bytes; Name tags hold at most 256", len(p))
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return badInput("the name pattern holds control characters")
	}
	return nil
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
