package diskalarm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPlanChanges(t *testing.T) {
	const (
		kept     = "i-0aaaaaaaaaaaaaaaa" // selected, running, reporting C: only
		gone     = "i-0bbbbbbbbbbbbbbbb" // terminated
		stopped  = "i-0cccccccccccccccc" // selected, stopped
		silent   = "i-0dddddddddddddddd" // selected, running, no disk metrics
		excluded = "i-0eeeeeeeeeeeeeeee" // exists, not selected
	)
	s := AlarmSettings{Prefix: DefaultPrefix, TopicARN: testTopic, TreatMissingData: "missing", Thresholds: DefaultThresholds()}
	disk := func(id, label string, size float64) Disk {
		return Disk{InstanceID: id, Label: label, OS: OSWindows, Metric: windows(MetricFreePercent, id, label), SizeGiB: size, SizeKnown: true}
	}
	have := func(d Disk) []Alarm {
		out := s.Alarms(d, "")
		for i := range out {
			out[i].Disk = ""
		}
		return out
	}
	var existing []Alarm
	existing = append(existing, have(disk(kept, "C:", 100))...)     // unchanged
	existing = append(existing, have(disk(kept, "D:", 100))...)     // now 1 TiB: updated
	existing = append(existing, have(disk(kept, "E:", 100))...)     // disk gone
	existing = append(existing, have(disk(gone, "C:", 100))...)     // instance gone
	existing = append(existing, have(disk(stopped, "C:", 100))...)  // kept
	existing = append(existing, have(disk(silent, "C:", 100))...)   // kept
	existing = append(existing, have(disk(excluded, "C:", 100))...) // kept
	existing = append(existing, Alarm{Name: DefaultPrefix + "made by hand"})

	want := append(s.Alarms(disk(kept, "C:", 100), ""), s.Alarms(disk(kept, "D:", 1024), "")...)
	want = append(want, s.Alarms(disk(kept, "F:", 100), "")...) // new disk

	plan := PlanChanges(PlanInput{
		Want: want,
		Have: existing,
		Live: map[string]Instance{
			kept: {ID: kept, State: "running"}, stopped: {ID: stopped, State: "stopped"},
			silent: {ID: silent, State: "running"}, excluded: {ID: excluded, State: "running"},
		},
		Selected:  map[string]bool{kept: true, stopped: true, silent: true},
		Reporting: map[string]bool{kept: true},
	})

	var puts []string
	for _, p := range plan.Puts {
		kind := "update " + strings.Join(p.Changes, "; ")
		if p.Create {
			kind = "create"
		}
		puts = append(puts, p.Alarm.Name+": "+kind)
	}
	name := func(id, label, sev string) string { return AlarmName(DefaultPrefix, id, label, sev) }
	wantPuts := []string{
		name(kept, "D:", Critical) + ": update threshold 20 → 10; description",
		name(kept, "D:", Warning) + ": update threshold 30 → 15; description",
		name(kept, "F:", Critical) + ": create",
		name(kept, "F:", Warning) + ": create",
	}
	if diff := cmp.Diff(wantPuts, puts); diff != "" {
		t.Errorf("puts (-want +got):\n%s", diff)
	}
	wantDeletes := []Delete{
		{name(kept, "E:", Critical), kept, ReasonDiskGone},
		{name(kept, "E:", Warning), kept, ReasonDiskGone},
		{name(gone, "C:", Critical), gone, ReasonInstanceGone},
		{name(gone, "C:", Warning), gone, ReasonInstanceGone},
	}
	if diff := cmp.Diff(wantDeletes, plan.Deletes); diff != "" {
		t.Errorf("deletes (-want +got):\n%s", diff)
	}
	if plan.Unchanged != 2 {
		t.Errorf("unchanged = %d, want 2", plan.Unchanged)
	}
	reasons := map[string]string{}
	for _, k := range plan.Kept {
		reasons[k.Name] = k.Reason
	}
	for name, want := range map[string]string{
		name(stopped, "C:", Warning):   ReasonNotRunning,
		name(silent, "C:", Warning):    ReasonNoDisksReported,
		name(excluded, "C:", Warning):  ReasonNotSelected,
		DefaultPrefix + "made by hand": ReasonForeignAlarmName,
	} {
		if reasons[name] != want {
			t.Errorf("kept %q for %q, want %q", name, reasons[name], want)
		}
	}
	if len(plan.Kept) != 7 {
		t.Errorf("kept %d alarms, want 7", len(plan.Kept))
	}
}

func TestStepsResumeAfterTheCursor(t *testing.T) {
	plan := Plan{
		Puts:    []Put{{Alarm: Alarm{Name: "a"}}, {Alarm: Alarm{Name: "c"}}, {Alarm: Alarm{Name: "e"}}},
		Deletes: []Delete{{Name: "b"}, {Name: "d"}},
	}
	names := func(steps []step) string {
		var out []string
		for _, s := range steps {
			out = append(out, s.name)
		}
		return strings.Join(out, "")
	}
	if got := names(plan.steps("")); got != "abcde" {
		t.Errorf("steps() = %s, want abcde (names in order, puts and deletes together)", got)
	}
	if got := names(plan.steps("b")); got != "cde" {
		t.Errorf("steps(after b) = %s, want cde", got)
	}
	if got := names(plan.steps("e")); got != "" {
		t.Errorf("steps(after e) = %s, want none", got)
	}
}
