package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFlushWritesEMFByReason(t *testing.T) {
	var buf bytes.Buffer
	r := New("root-volume-cleanup", &buf)
	r.now = func() time.Time { return time.UnixMilli(1_700_000_000_000) }
	r.Add("VolumesDeleted", 2)
	r.Add("VolumesDeleted", 1)
	r.AddReason("VolumesKept", "no replacement record", 4)
	r.Add("Ignored", 0)
	r.Flush()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("Flush wrote %d lines, want 2 (plain, and one reason):\n%s", len(lines), buf.String())
	}
	var got []map[string]any
	for _, l := range lines {
		var doc map[string]any
		if err := json.Unmarshal([]byte(l), &doc); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		got = append(got, doc)
	}
	want := []map[string]any{
		{
			"FunctionName":   "root-volume-cleanup",
			"VolumesDeleted": 3.0,
			"_aws": map[string]any{
				"Timestamp": 1.7e12,
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  "LambdaSuite",
					"Dimensions": []any{[]any{"FunctionName"}},
					"Metrics":    []any{map[string]any{"Name": "VolumesDeleted", "Unit": "Count"}},
				}},
			},
		},
		{
			"FunctionName": "root-volume-cleanup",
			"Reason":       "no replacement record",
			"VolumesKept":  4.0,
			"_aws": map[string]any{
				"Timestamp": 1.7e12,
				"CloudWatchMetrics": []any{map[string]any{
					"Namespace":  "LambdaSuite",
					"Dimensions": []any{[]any{"FunctionName", "Reason"}},
					"Metrics":    []any{map[string]any{"Name": "VolumesKept", "Unit": "Count"}},
				}},
			},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EMF lines (-want +got):\n%s", diff)
	}

	buf.Reset()
	r.Flush()
	if buf.Len() != 0 {
		t.Errorf("second Flush wrote %q, want nothing: counts start again", buf.String())
	}
}

func TestNilRecorderRecordsNothing(t *testing.T) {
	var r *Recorder
	r.Add("x", 1)
	r.AddReason("x", "y", 1)
	r.Flush() // must not panic
}

func TestAddValueCarriesItsUnit(t *testing.T) {
	var buf bytes.Buffer
	r := New("root-volume-cleanup", &buf)
	r.AddValue("ReclaimedGiB", "", 16, "Gigabytes")
	r.AddValue("EstimatedMonthlySavingUSD", "", 1.25, "None")
	r.Add("VolumesDeleted", 2)
	r.Flush()
	var doc struct {
		Reclaimed float64 `json:"ReclaimedGiB"`
		Saving    float64 `json:"EstimatedMonthlySavingUSD"`
		AWS       struct {
			CloudWatchMetrics []struct{ Metrics []metricDef }
		} `json:"_aws"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("Flush wrote %q: %v", buf.String(), err)
	}
	want := []metricDef{{"EstimatedMonthlySavingUSD", "None"}, {"ReclaimedGiB", "Gigabytes"}, {"VolumesDeleted", "Count"}}
	if doc.Reclaimed != 16 || doc.Saving != 1.25 || !cmp.Equal(doc.AWS.CloudWatchMetrics[0].Metrics, want) {
		t.Errorf("Flush = %s, want 16 GiB, $1.25 and units %v", buf.String(), want)
	}
}
