// Package sample reads the sample events under events/<function>/, the one
// way tests and fuzzers load them: found from the module's root wherever
// the test runs, with placeholders replaced by what the test made.
package sample

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bytes returns events/<function>/<name>, with each old, new pair of
// replacements applied (strings.NewReplacer's rules).
func Bytes(tb testing.TB, function, name string, replacements ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(Path(tb, function, name)) // #nosec G304 -- a sample under the module's events/
	if err != nil {
		tb.Fatal(err)
	}
	if len(replacements) > 0 {
		b = []byte(strings.NewReplacer(replacements...).Replace(string(b)))
	}
	return b
}

// Event decodes Bytes into T: an aws-lambda-go event type, a request
// struct, or json.RawMessage for the bytes as they are.
func Event[T any](tb testing.TB, function, name string, replacements ...string) T {
	tb.Helper()
	var ev T
	if err := json.Unmarshal(Bytes(tb, function, name, replacements...), &ev); err != nil {
		tb.Fatalf("%s/%s: %v", function, name, err)
	}
	return ev
}

// All returns every events/<function>/*.json by file name, for seeding a
// fuzzer with them all; function "*" gives every function's samples, keyed
// "<function>/<name>". It fails the test when there is none.
func All(tb testing.TB, function string) map[string][]byte {
	tb.Helper()
	pattern := Path(tb, function, "*.json")
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		tb.Fatalf("no sample events %s: %v", pattern, err)
	}
	all := make(map[string][]byte, len(files))
	for _, file := range files {
		name := filepath.Base(file)
		if function == "*" {
			name = filepath.Base(filepath.Dir(file)) + "/" + name
		}
		b, err := os.ReadFile(file) // #nosec G304 -- a sample under the module's events/
		if err != nil {
			tb.Fatal(err)
		}
		all[name] = b
	}
	return all
}

// Path is the sample's file path: events/<function>/<name> under the
// directory that holds go.mod.
func Path(tb testing.TB, function, name string) string {
	tb.Helper()
	root, err := Root()
	if err != nil {
		tb.Fatalf("cannot find events/%s/%s: %v", function, name, err)
	}
	return filepath.Join(root, "events", function, name)
}

// Root is the module's root: the nearest directory above the working
// directory that holds go.mod.
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
