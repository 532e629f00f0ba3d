package awstest

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// DefaultBenchSizes are the fleet sizes the scale benchmarks run at when
// BENCH_SIZES is unset.
var DefaultBenchSizes = []int{100, 1000, 5000}

// BenchSizes returns the fleet sizes a scale benchmark runs at: BENCH_SIZES
// ("100,1000"), or DefaultBenchSizes. A bad value fails the benchmark.
func BenchSizes(tb testing.TB) []int {
	tb.Helper()
	v := strings.TrimSpace(os.Getenv("BENCH_SIZES"))
	if v == "" {
		return DefaultBenchSizes
	}
	var sizes []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 10 {
			tb.Fatalf("BENCH_SIZES=%q: %q is not a size of at least 10", v, f)
		}
		sizes = append(sizes, n)
	}
	return sizes
}
