// Package settings reads a function's configuration from a lookup function
// (os.LookupEnv in main, a map in tests), so that each problem names the
// variable at fault and every problem is reported at once.
package settings

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Lookup returns a variable's value and whether it is set, like os.LookupEnv.
type Lookup func(string) (string, bool)

// Map turns a map into a Lookup, for tests.
func Map(m map[string]string) Lookup {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// Reader collects problems while reading variables; Err joins them.
type Reader struct {
	lookup Lookup
	errs   []error
}

// NewReader returns a Reader over lookup.
func NewReader(lookup Lookup) *Reader { return &Reader{lookup: lookup} }

// Err returns every problem found so far, joined, or nil.
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Fail records a problem with the variable name.
func (r *Reader) Fail(name string, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// String returns the trimmed value of name, or def when it is unset or blank.
func (r *Reader) String(name, def string) string {
	v, ok := r.lookup(name)
	v = strings.TrimSpace(v)
	if !ok || v == "" {
		return def
	}
	return v
}

// Bool reads true/false (and the forms strconv.ParseBool accepts).
func (r *Reader) Bool(name string, def bool) bool {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.Fail(name, "%q is not true or false", v)
		return def
	}
	return b
}

// Duration reads a Go duration ("90s", "1h30m") within [min, max].
func (r *Reader) Duration(name string, def, min, max time.Duration) time.Duration {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.Fail(name, "%q is not a Go duration such as 90s or 1h", v)
		return def
	}
	if d < min || d > max {
		r.Fail(name, "%s is outside [%s, %s]", d, min, max)
		return def
	}
	return d
}

// Float reads a number within [min, max].
func (r *Reader) Float(name string, def, min, max float64) float64 {
	v := r.String(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f != f {
		r.Fail(name, "%q is not a number", v)
		return def
	}
	if f < min || f > max {
		r.Fail(name, "%g is outside [%g, %g]", f, min, max)
		return def
	}
	return f
}

// Parse reads name with parse (for domain types such as tags), or parses
// def when it is unset; a parse error is recorded against name.
func Parse[T any](r *Reader, name, def string, parse func(string) (T, error)) T {
	v, err := parse(r.String(name, def))
	if err != nil {
		r.Fail(name, "%v", err)
	}
	return v
}
