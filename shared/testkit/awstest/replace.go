package awstest

import (
	"strings"
	"testing"
)

// Replace returns s with each old, new pair in pairs replaced once, in
// order; it fails the test when s does not hold an old, so that an edited
// sample event cannot silently stay unedited.
func Replace(tb testing.TB, s string, pairs ...string) string {
	tb.Helper()
	if len(pairs)%2 != 0 {
		tb.Fatalf("Replace: %d strings, want old, new pairs", len(pairs))
	}
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			tb.Fatalf("Replace: the text holds no %q", pairs[i])
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}
