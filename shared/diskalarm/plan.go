package diskalarm

import (
	"slices"
	"strings"
)

// PlanInput is everything a reconcile decision rests on.
type PlanInput struct {
	// Want is every alarm the selected instances' disks should have.
	Want []Alarm
	// Have is the suite's existing alarms in the run's scope.
	Have []Alarm
	// Live holds every instance that still exists among those the alarms
	// in Have are about; an instance missing from it is gone.
	Live map[string]Instance
	// Selected holds the instances this run selected.
	Selected map[string]bool
	// Reporting holds the selected instances that report at least one disk:
	// only for those may a missing disk mean the disk is gone.
	Reporting map[string]bool
	// Frozen holds the instances whose alarms stay as they are this run
	// (an OverrideTag that does not read).
	Frozen map[string]bool
}

// Put is an alarm to create or update.
type Put struct {
	Alarm   Alarm
	Create  bool
	Changes []string // for an update: what differs
}

// Delete is an alarm to delete, and why.
type Delete struct {
	Name       string
	InstanceID string
	Reason     string
}

// Keep is an existing alarm that is not wanted by this run but stays.
type Keep struct {
	Name   string
	Reason string
}

// Plan is what a run writes, sorted by alarm name.
type Plan struct {
	Puts      []Put
	Deletes   []Delete
	Unchanged int
	Kept      []Keep
}

// Reasons an alarm is deleted or kept.
const (
	ReasonInstanceGone     = "its instance is gone (terminated or no longer exists)"
	ReasonDiskGone         = "its disk is no longer reported by the instance"
	ReasonNotSelected      = "its instance exists but is not selected by this run"
	ReasonNotRunning       = "its instance is not running, so a missing disk metric says nothing"
	ReasonNoDisksReported  = "its instance reports no disk metrics at all (agent stopped?), so nothing is taken as gone"
	ReasonForeignAlarmName = "the name is under the prefix but not one the suite makes"
	ReasonBadOverride      = "its instance's " + OverrideTag + " tag does not read, so its alarms stay as they are"
)

// PlanChanges decides, by difference, which alarms to write. An existing
// alarm is deleted only when its instance is gone, or when its instance is
// selected, running and reporting other disks but not this one; in every
// other case of doubt it is kept.
func PlanChanges(in PlanInput) Plan {
	var p Plan
	have := make(map[string]Alarm, len(in.Have))
	for _, a := range in.Have {
		have[a.Name] = a
	}
	want := make(map[string]bool, len(in.Want))
	for _, w := range in.Want {
		want[w.Name] = true
		h, exists := have[w.Name]
		switch {
		case !exists:
			p.Puts = append(p.Puts, Put{Alarm: w, Create: true})
		default:
			if ch := Changes(w, h); len(ch) > 0 {
				p.Puts = append(p.Puts, Put{Alarm: w, Changes: ch})
			} else {
				p.Unchanged++
			}
		}
	}
	for _, h := range in.Have {
		if want[h.Name] {
			continue
		}
		inst, live := in.Live[h.InstanceID]
		switch {
		case h.InstanceID == "":
			p.Kept = append(p.Kept, Keep{Name: h.Name, Reason: ReasonForeignAlarmName})
		case !live:
			p.Deletes = append(p.Deletes, Delete{Name: h.Name, InstanceID: h.InstanceID, Reason: ReasonInstanceGone})
		case in.Frozen[h.InstanceID]:
			p.Kept = append(p.Kept, Keep{Name: h.Name, Reason: ReasonBadOverride})
		case !in.Selected[h.InstanceID]:
			p.Kept = append(p.Kept, Keep{Name: h.Name, Reason: ReasonNotSelected})
		case inst.State != stateRunning:
			p.Kept = append(p.Kept, Keep{Name: h.Name, Reason: ReasonNotRunning})
		case !in.Reporting[h.InstanceID]:
			p.Kept = append(p.Kept, Keep{Name: h.Name, Reason: ReasonNoDisksReported})
		default:
			p.Deletes = append(p.Deletes, Delete{Name: h.Name, InstanceID: h.InstanceID, Reason: ReasonDiskGone})
		}
	}
	slices.SortFunc(p.Puts, func(a, b Put) int { return strings.Compare(a.Alarm.Name, b.Alarm.Name) })
	slices.SortFunc(p.Deletes, func(a, b Delete) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(p.Kept, func(a, b Keep) int { return strings.Compare(a.Name, b.Name) })
	return p
}
