package awsid

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

// addEventARNs seeds f with every ARN in the sample events (events/*/*.json,
// SNS messages included, which hold JSON of their own), so the fuzzers start
// from the ARNs the functions really receive.
func addEventARNs(f *testing.F) {
	f.Helper()
	files := sample.All(f, "*")
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, item := range v {
				walk(item)
			}
		case []any:
			for _, item := range v {
				walk(item)
			}
		case string:
			var inner any
			if strings.HasPrefix(strings.TrimSpace(v), "{") && json.Unmarshal([]byte(v), &inner) == nil {
				walk(inner)
			}
			if strings.HasPrefix(v, "arn:") && !seen[v] {
				seen[v] = true
				f.Add(v)
			}
		}
	}
	for _, file := range slices.Sorted(maps.Keys(files)) {
		var doc any
		if err := json.Unmarshal(files[file], &doc); err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		walk(doc)
	}
	if len(seen) == 0 {
		f.Fatal("no ARN in the sample events")
	}
}
