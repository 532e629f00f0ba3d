package awsid

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// addEventARNs seeds f with every ARN in the sample events (events/*/*.json,
// SNS messages included, which hold JSON of their own), so the fuzzers start
// from the ARNs the functions really receive.
func addEventARNs(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "events", "*", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no sample events: %v", err)
	}
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
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		walk(doc)
	}
	if len(seen) == 0 {
		f.Fatal("no ARN in the sample events")
	}
}
