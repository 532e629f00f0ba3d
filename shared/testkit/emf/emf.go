// Package emf reads the CloudWatch embedded-metric-format lines that
// shared/metrics writes, for tests: which metrics a function emitted, with
// which function name and reason.
package emf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Line is one EMF document.
type Line struct {
	Function string
	Reason   string
	Values   map[string]float64
}

// Parse reads every line of out as an EMF document, failing the test on a
// line that is not one (a metric line must be nothing else).
func Parse(tb testing.TB, out []byte) []Line {
	tb.Helper()
	var lines []Line
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			tb.Fatalf("metric line %q is not JSON: %v", sc.Text(), err)
		}
		meta, _ := doc["_aws"].(map[string]any)
		directives, _ := meta["CloudWatchMetrics"].([]any)
		if len(directives) != 1 {
			tb.Fatalf("metric line %q has no CloudWatchMetrics directive", sc.Text())
		}
		l := Line{Values: map[string]float64{}}
		l.Function, _ = doc["FunctionName"].(string)
		l.Reason, _ = doc["Reason"].(string)
		metrics, _ := directives[0].(map[string]any)["Metrics"].([]any)
		for _, m := range metrics {
			name, _ := m.(map[string]any)["Name"].(string)
			v, ok := doc[name].(float64)
			if !ok {
				tb.Fatalf("metric line %q declares %s without a value", sc.Text(), name)
			}
			l.Values[name] = v
		}
		lines = append(lines, l)
	}
	return lines
}

// Value sums metric name with reason ("" for none) over lines.
func Value(lines []Line, name, reason string) float64 {
	var sum float64
	for _, l := range lines {
		if l.Reason == reason {
			sum += l.Values[name]
		}
	}
	return sum
}

// Want fails the test unless out's lines are all of function and carry
// each metric of want ("Name" or "Name/Reason") with the value given.
func Want(tb testing.TB, out []byte, function string, want map[string]float64) {
	tb.Helper()
	lines := Parse(tb, out)
	if len(lines) == 0 {
		tb.Fatalf("no metric lines, want %v", want)
	}
	for _, l := range lines {
		if l.Function != function {
			tb.Errorf("metric line of function %q, want %q", l.Function, function)
		}
	}
	for key, v := range want {
		name, reason, _ := strings.Cut(key, "/")
		if got := Value(lines, name, reason); got != v {
			tb.Errorf("metric %s = %g, want %g (lines %+v)", key, got, v, lines)
		}
	}
}
