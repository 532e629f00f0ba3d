package rootvolume

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// VolumeFacts is what EC2 says of a volume the cleanup considers.
type VolumeFacts struct {
	ID       string
	State    string
	Attached bool
	Labelled bool // carries DELETE_VOLUME_TAG
	Keep     bool // carries KEEP_TAG
}

// TaskFacts is what DescribeReplaceRootVolumeTasks says of a task. EC2's
// ReplaceRootVolumeTask names neither the replaced volume nor the client
// token (API reference, "ReplaceRootVolumeTask"); SourceVolume and
// CreatedBy are the tags the suite gives its tasks at creation, so
// "where EC2 says so" is where the task carries them.
type TaskFacts struct {
	ID, InstanceID, State   string
	Started, Completed      time.Time
	SourceVolume, CreatedBy string
}

// SnapshotFacts is what EC2 says of a snapshot carrying SNAPSHOT_TAG.
type SnapshotFacts struct {
	ID, VolumeID, Description, State string
	Created                          time.Time
	Keep                             bool
}

// RecycledAMI is an AMI in the Recycle Bin: EC2 lists it without its
// block-device mappings, so which snapshots it holds cannot be seen.
type RecycledAMI struct {
	ID      string
	Entered time.Time
}

// Failure is a delete that did not succeed.
type Failure struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Error string `json:"error"`
}

// UntrustedRecord is a record whose MAC is missing or does not verify:
// nothing was acted on because of it.
type UntrustedRecord struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Trust string `json:"trust"` // unsealed or tampered
	// Names is the resource the record names (a volume, a snapshot).
	Names string `json:"names,omitempty"`
}

// Plan is what a cleanup will delete, what it keeps, and which records it
// writes.
type Plan struct {
	Volumes   []string
	Snapshots []string
	Skipped   []Skip
	// Records are replacement records with the outcome EC2 now reports.
	Records []Replacement
	// Label lists planned volumes that lack DELETE_VOLUME_TAG (adopted
	// ones): the label is put on before the delete, which IAM requires.
	Label []string
	// Unlabel lists volumes whose replacement failed or was refused but
	// that carry the label (put on when EC2 accepted the task): it comes
	// off, so that the live root volume carries no delete-volume tag.
	Unlabel []string
	// Rollbacks are replaced volumes seen again as a root, to record.
	Rollbacks []Rollback
	// Orphans are suite snapshots first seen orphaned now, to record.
	Orphans []Orphan
	// Untrusted are the records that did not verify (reported).
	Untrusted []UntrustedRecord
}

// PlanInput is everything a cleanup decision rests on.
type PlanInput struct {
	Now            time.Time
	MinAge         time.Duration
	RetainReplaced time.Duration
	// RetainOrphaned is how long a suite snapshot is kept after it was
	// first seen orphaned.
	RetainOrphaned time.Duration
	AdoptExternal  bool
	Records        Records
	Tasks          map[string]TaskFacts
	// Volumes holds the volumes named by a record, by an external task's
	// root history, or by the label, that still exist.
	Volumes map[string]VolumeFacts
	// Roots maps a volume to the instance whose root volume it is now.
	Roots           map[string]string
	Snapshots       []SnapshotFacts
	ExistingVolumes map[string]bool   // snapshots' source volumes that still exist
	AMISnapshots    map[string]string // snapshot ID → an AMI it backs
	RecycleBin      []RecycledAMI
	// RecycleBinUnread says why the Recycle Bin could not be read; then
	// every snapshot is kept.
	RecycleBinUnread string
}

// KindTask names an external task in a Skip that has no volume to name.
const KindTask = "task"

// taskOutcome maps EC2's task state to a record's final state, or "".
// failed-detached is a failure: the original root is detached, not replaced.
func taskOutcome(state string) string {
	switch types.ReplaceRootVolumeTaskState(state) {
	case types.ReplaceRootVolumeTaskStateSucceeded:
		return StateSucceeded
	case types.ReplaceRootVolumeTaskStateFailed, types.ReplaceRootVolumeTaskStateFailedDetached:
		return StateFailed
	}
	return ""
}

// confirms reports whether EC2's task t confirms that record r's volume was
// replaced: t succeeded, on r's instance, and, where the task names the
// replaced volume (the suite's tag), that volume.
func confirms(t TaskFacts, r Replacement) bool {
	return taskOutcome(t.State) == StateSucceeded && t.InstanceID == r.InstanceID &&
		(t.SourceVolume == "" || t.SourceVolume == r.ReplacedVolumeID)
}

// PinnedRoot returns the root volume an external task replaced, from facts
// that pin it: the newest trusted root observation of the instance made
// at or before the task's start, with no other root of the instance
// observed later that existed before the start, and no other task on the
// instance between that observation and the start. Otherwise it returns
// "" and why (and the volume in doubt, if any).
func PinnedRoot(roots []RootObservation, tasks map[string]TaskFacts, t TaskFacts) (volume, doubt, why string) {
	var mine, before []RootObservation
	for _, o := range roots {
		if o.InstanceID != t.InstanceID {
			continue
		}
		if o.Trust != Trusted {
			return "", o.VolumeID, fmt.Sprintf("a root record of %s does not verify (%s)", t.InstanceID, o.Trust)
		}
		mine = append(mine, o)
		if !o.ObservedAt.After(t.Started) {
			before = append(before, o)
		}
	}
	if len(before) == 0 {
		return "", "", fmt.Sprintf("no root volume of %s was recorded before the task started", t.InstanceID)
	}
	newest := slices.MaxFunc(before, func(a, b RootObservation) int { return a.ObservedAt.Compare(b.ObservedAt) })
	for _, o := range mine {
		if o.VolumeID == newest.VolumeID {
			continue
		}
		if o.ObservedAt.Equal(newest.ObservedAt) {
			return "", newest.VolumeID, fmt.Sprintf("%s and %s were both recorded as its root at %s", newest.VolumeID, o.VolumeID, o.ObservedAt.Format(time.RFC3339))
		}
		if o.ObservedAt.After(newest.ObservedAt) && o.VolumeCreated.Before(t.Started) {
			return "", newest.VolumeID, fmt.Sprintf("%s, recorded as its root later, existed before the task started", o.VolumeID)
		}
	}
	for _, other := range slices.SortedFunc(maps.Values(tasks), func(a, b TaskFacts) int { return strings.Compare(a.ID, b.ID) }) {
		if other.ID == t.ID || other.InstanceID != t.InstanceID || !other.Started.Before(t.Started) {
			continue
		}
		if other.Completed.IsZero() || other.Completed.After(newest.ObservedAt) {
			return "", newest.VolumeID, fmt.Sprintf("task %s changed its root after %s was recorded", other.ID, newest.VolumeID)
		}
	}
	return newest.VolumeID, "", ""
}

// PlanCleanup decides, from plain data, what may be deleted. Whatever is in
// doubt is kept: a record acts only when its MAC verifies, and a replaced
// volume goes only when EC2 confirms its task.
func PlanCleanup(in PlanInput) Plan {
	var p Plan
	keep := func(id, kind string, reason Reason, detail string) {
		p.Skipped = append(p.Skipped, Skip{ID: id, Kind: kind, Reason: reason, Detail: detail})
	}
	keepIfExists := func(id string, reason Reason, detail string) {
		if _, ok := in.Volumes[id]; ok {
			keep(id, KindVolume, reason, detail)
		}
	}
	distrust := func(id, kind, names string, t Trust) {
		p.Untrusted = append(p.Untrusted, UntrustedRecord{ID: id, Kind: kind, Trust: t.String(), Names: names})
	}
	rolledBack := map[string]bool{} // volume#task
	for _, r := range in.Records.Rollbacks {
		switch {
		case r.Trust == Trusted:
			rolledBack[r.VolumeID+"#"+r.TaskID] = true
		case r.Trust.Untrusted():
			distrust(r.ID, KindRollback, r.VolumeID, r.Trust)
		}
	}
	// consider applies the volume rule to a replaced root volume whose task
	// (taskID) succeeded at completed.
	consider := func(id, taskID string, completed time.Time) {
		v, ok := in.Volumes[id]
		switch {
		case !ok:
			// Gone: an earlier run deleted it, or someone did.
		case v.Keep:
			keep(id, KindVolume, ReasonKeepTag, "")
		case rolledBack[id+"#"+taskID]:
			keep(id, KindVolume, ReasonRolledBack, "")
		case in.Roots[id] != "":
			keep(id, KindVolume, ReasonIsRoot, "("+in.Roots[id]+")")
			if taskID != "" && in.Now.After(completed) {
				p.Rollbacks = append(p.Rollbacks, Rollback{VolumeID: id, TaskID: taskID, InstanceID: in.Roots[id], SeenAt: in.Now})
			}
		case v.Attached:
			keep(id, KindVolume, ReasonAttached, "")
		case v.State != string(types.VolumeStateAvailable):
			keep(id, KindVolume, ReasonNotAvailable, "")
		case completed.IsZero():
			keep(id, KindVolume, ReasonNoCompletion, "")
		case completed.Add(in.RetainReplaced).After(in.Now):
			keep(id, KindVolume, ReasonRollbackWindow, "until "+completed.Add(in.RetainReplaced).UTC().Format(time.RFC3339))
		default:
			p.Volumes = append(p.Volumes, id)
			if !v.Labelled {
				p.Label = append(p.Label, id)
			}
		}
	}

	claimed := map[string]bool{}
	suiteTasks := map[string]bool{}
	records := slices.SortedFunc(slices.Values(in.Records.Replacements), func(a, b Replacement) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), strings.Compare(a.ID, b.ID))
	})
	// A volume may be named by more than one request (one refused, a later
	// one started): a task still running keeps it, else a task EC2
	// confirms decides, else it was never replaced.
	type outcome struct {
		state     string
		task      string
		completed time.Time
		confirmed bool
	}
	byVolume := map[string][]outcome{}
	untrustedVolume := map[string]Trust{}
	var volumes []string
	for _, r := range records {
		// Only a trusted record makes a task the suite's: a forged one
		// naming an external task would take it out of ADOPT's rules.
		if r.TaskID != "" && r.Trust == Trusted {
			suiteTasks[r.TaskID] = true
		}
		if !claimed[r.ReplacedVolumeID] {
			volumes = append(volumes, r.ReplacedVolumeID)
		}
		claimed[r.ReplacedVolumeID] = true
		if r.Trust != Trusted {
			// Unchecked: its volume is gone and its state final, so it
			// decides nothing. Untrusted: it keeps its volume, and says so.
			if r.Trust.Untrusted() {
				distrust(r.ID, KindReplacement, r.ReplacedVolumeID, r.Trust)
				if _, seen := untrustedVolume[r.ReplacedVolumeID]; !seen || r.Trust == Tampered {
					untrustedVolume[r.ReplacedVolumeID] = r.Trust
				}
			}
			continue
		}
		if r.State == StateUnknown && r.TaskID == "" {
			if t, ok := MatchTask(r, slices.Collect(maps.Values(in.Tasks))); ok {
				u := r
				u.State, u.TaskID, u.UpdatedAt, u.Reason = StateStarted, t.ID, in.Now, "EC2 lists a task that matches the lost answer"
				u.TaskStartedAt = &t.Started
				p.Records = append(p.Records, u)
				r = u
				suiteTasks[t.ID] = true
			}
		}
		o := outcome{state: r.State, task: r.TaskID}
		if t, ok := in.Tasks[r.TaskID]; ok && r.TaskID != "" {
			o.confirmed, o.completed = confirms(t, r), t.Completed
			if out := taskOutcome(t.State); out != "" && out != r.State {
				o.state = out
				u := r
				u.State, u.UpdatedAt, u.Reason = out, in.Now, "EC2 reports the task "+t.State
				if !t.Completed.IsZero() {
					c := t.Completed
					u.CompletedAt = &c
				}
				if i := slices.IndexFunc(p.Records, func(x Replacement) bool { return x.ID == r.ID }); i >= 0 {
					p.Records[i] = u
				} else {
					p.Records = append(p.Records, u)
				}
			}
		}
		byVolume[r.ReplacedVolumeID] = append(byVolume[r.ReplacedVolumeID], o)
	}
	for _, id := range volumes {
		if t, ok := untrustedVolume[id]; ok {
			reason := ReasonTampered
			if t == Unsealed {
				reason = ReasonUnsealed
			}
			keepIfExists(id, reason, "")
			continue
		}
		outs := byVolume[id]
		if len(outs) == 0 {
			continue
		}
		if i := slices.IndexFunc(outs, func(o outcome) bool { return o.state == StateUnknown }); i >= 0 {
			keepIfExists(id, ReasonAnswerLost, "")
			continue
		}
		if i := slices.IndexFunc(outs, func(o outcome) bool {
			return o.state == StateRequested || o.state == StateStarted
		}); i >= 0 {
			keepIfExists(id, ReasonTaskNotDone, "(record "+outs[i].state+")")
			continue
		}
		if i := slices.IndexFunc(outs, func(o outcome) bool { return o.state == StateSucceeded && o.confirmed }); i >= 0 {
			consider(id, outs[i].task, outs[i].completed)
			continue
		}
		if slices.ContainsFunc(outs, func(o outcome) bool { return o.state == StateSucceeded }) {
			keepIfExists(id, ReasonTaskUnconfirmed, "")
			continue
		}
		if v, ok := in.Volumes[id]; ok && v.Labelled {
			p.Unlabel = append(p.Unlabel, id)
		}
		if slices.ContainsFunc(outs, func(o outcome) bool { return o.state == StateFailed }) {
			keepIfExists(id, ReasonTaskFailed, "")
			continue
		}
		keepIfExists(id, ReasonTaskRefused, "")
	}

	tasks := slices.SortedFunc(maps.Values(in.Tasks), func(a, b TaskFacts) int { return strings.Compare(a.ID, b.ID) })
	for _, t := range tasks {
		if suiteTasks[t.ID] || taskOutcome(t.State) != StateSucceeded {
			continue
		}
		old, doubt, why := PinnedRoot(in.Records.Roots, in.Tasks, t)
		if old == "" {
			if !in.AdoptExternal || doubt == "" && why == "" {
				continue
			}
			if doubt != "" && !claimed[doubt] {
				claimed[doubt] = true
				keepIfExists(doubt, ReasonAmbiguousRoot, "(task "+t.ID+"): "+why)
			}
			continue
		}
		if claimed[old] {
			continue
		}
		claimed[old] = true
		if !in.AdoptExternal {
			keepIfExists(old, ReasonExternal, "")
			continue
		}
		consider(old, t.ID, t.Completed)
	}
	for _, o := range in.Records.Roots {
		if o.Trust.Untrusted() {
			distrust(o.ID, KindRoot, o.VolumeID, o.Trust)
		}
	}

	for _, id := range slices.Sorted(maps.Keys(in.Volumes)) {
		if in.Volumes[id].Labelled && !claimed[id] {
			keep(id, KindVolume, ReasonUnrecorded, "")
		}
	}

	orphans := map[string]Orphan{}
	for _, o := range in.Records.Orphans {
		orphans[o.SnapshotID] = o
	}
	for _, s := range in.Snapshots {
		reason, detail := snapshotReason(in, s)
		if reason == "" && in.RetainOrphaned > 0 {
			// Its source is gone: kept for RETAIN_ORPHANED from when a run
			// first saw it so, by a record only the suite could seal.
			o, ok := orphans[s.ID]
			switch {
			case !ok || o.Trust != Trusted || o.VolumeID != s.VolumeID:
				if ok && o.Trust.Untrusted() {
					distrust(o.ID, KindOrphan, s.ID, o.Trust)
				}
				p.Orphans = append(p.Orphans, Orphan{SnapshotID: s.ID, VolumeID: s.VolumeID, FirstSeen: in.Now})
				reason, detail = ReasonOrphanGrace, "until "+in.Now.Add(in.RetainOrphaned).UTC().Format(time.RFC3339)
			case o.FirstSeen.Add(in.RetainOrphaned).After(in.Now):
				reason, detail = ReasonOrphanGrace, "until "+o.FirstSeen.Add(in.RetainOrphaned).UTC().Format(time.RFC3339)
			}
		}
		if reason != "" {
			keep(s.ID, KindSnapshot, reason, detail)
			continue
		}
		p.Snapshots = append(p.Snapshots, s.ID)
	}
	return p
}

// snapshotReason is why a suite-tagged snapshot is kept whatever its
// orphan record says, with the detail, or "" when only RETAIN_ORPHANED
// still holds it.
func snapshotReason(in PlanInput, s SnapshotFacts) (Reason, string) {
	marked, isMarked := MarkedVolume(s.Description)
	ami, backs := in.AMISnapshots[s.ID]
	switch {
	case s.Keep:
		return ReasonKeepTag, ""
	case !isMarked:
		return ReasonUnmarked, ""
	case marked != s.VolumeID:
		return ReasonMarkMismatch, ""
	case backs:
		return ReasonBacksAMI, "(" + ami + ")"
	case in.RecycleBinUnread != "":
		return ReasonRecycleUnread, in.RecycleBinUnread
	case slices.ContainsFunc(in.RecycleBin, func(a RecycledAMI) bool { return !a.Entered.Before(s.Created) }):
		// Only an AMI that entered the bin after the snapshot was made
		// can hold it.
		return ReasonRecycleBin, ""
	case s.State != string(types.SnapshotStateCompleted):
		return ReasonNotCompleted, ""
	case in.ExistingVolumes[s.VolumeID]:
		return ReasonSourceExists, ""
	case s.Created.IsZero() || s.Created.Add(in.MinAge).After(in.Now):
		return ReasonTooYoung, ""
	}
	return "", ""
}
