package diskalarm

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOutcomeCounts(t *testing.T) {
	tests := []struct {
		name string
		out  Outcome
		want []Count
	}{
		{"a failed pass counts only its reason",
			Outcome{Failed: "reconcile failed before any write", Err: errors.New("x"), Result: Result{Created: 3}},
			[]Count{{Name: "ReconcileRunsFailed", Reason: "reconcile failed before any write", N: 1}}},
		{"a first pass counts its alarms",
			Outcome{Passed: true, Pass: 1, Result: Result{Created: 2, Updated: 1, Deleted: 4, Unchanged: 5, Kept: 6, Failed: []Failure{{}}}},
			[]Count{{Name: "AlarmsCreated", N: 2}, {Name: "AlarmsUpdated", N: 1}, {Name: "AlarmsDeleted", N: 4},
				{Name: "AlarmsUnchanged", N: 5}, {Name: "AlarmsKept", N: 6}, {Name: "AlarmWritesFailed", N: 1}}},
		{"a resumed pass that queued the rest counts both",
			Outcome{Passed: true, Pass: 3, Result: Result{Continued: true}},
			[]Count{{Name: "AlarmsCreated"}, {Name: "AlarmsUpdated"}, {Name: "AlarmsDeleted"}, {Name: "AlarmsUnchanged"},
				{Name: "AlarmsKept"}, {Name: "AlarmWritesFailed"}, {Name: "ContinuationPasses", N: 1}, {Name: "ContinuationsQueued", N: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.out.Counts()); diff != "" {
				t.Errorf("Counts() (-want +got):\n%s", diff)
			}
		})
	}
}
