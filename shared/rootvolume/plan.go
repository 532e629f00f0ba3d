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
// volume goes only when EC2 confirms its task. It runs its passes in
// order, each over the plan so far and what the passes before it found:
// the rollback records, the replacement records and the volumes they name,
// the tasks the suite did not start, the root records, the labelled
// volumes no one claims, and the suite's snapshots.
func PlanCleanup(in PlanInput) Plan {
	var p Plan
	rolledBack := p.planRollbacks(in)
	recs := p.planReplacements(in)
	claimed := map[string]bool{}
	for _, id := range recs.volumes {
		claimed[id] = true
		p.planReplacedVolume(in, rolledBack, id, recs)
	}
	p.planExternalTasks(in, rolledBack, recs.suiteTasks, claimed)
	p.planRoots(in)
	p.planUnrecorded(in, claimed)
	p.planSnapshots(in)
	return p
}

func (p *Plan) keep(id, kind string, reason Reason, detail string) {
	p.Skipped = append(p.Skipped, Skip{ID: id, Kind: kind, Reason: reason, Detail: detail})
}

// keepIfExists keeps a volume EC2 still lists; a gone one needs no word.
func (p *Plan) keepIfExists(in PlanInput, id string, reason Reason, detail string) {
	if _, ok := in.Volumes[id]; ok {
		p.keep(id, KindVolume, reason, detail)
	}
}

func (p *Plan) distrust(id, kind, names string, t Trust) {
	p.Untrusted = append(p.Untrusted, UntrustedRecord{ID: id, Kind: kind, Trust: t.String(), Names: names})
}

// planRollbacks returns the trusted rollback records, as volume#task, and
// reports the untrusted ones.
func (p *Plan) planRollbacks(in PlanInput) map[string]bool {
	rolledBack := map[string]bool{}
	for _, r := range in.Records.Rollbacks {
		switch {
		case r.Trust == Trusted:
			rolledBack[r.VolumeID+"#"+r.TaskID] = true
		case r.Trust.Untrusted():
			p.distrust(r.ID, KindRollback, r.VolumeID, r.Trust)
		}
	}
	return rolledBack
}

// outcome is what one replacement record, with EC2's word on its task,
// says of the volume it names.
type outcome struct {
	state     string
	task      string
	completed time.Time
	confirmed bool
}

// replacementFacts is what the replacement records say of the volumes
// they name.
type replacementFacts struct {
	// volumes are the volumes the records name, in the records' order.
	volumes []string
	// byVolume holds each volume's outcomes, from its trusted records.
	byVolume map[string][]outcome
	// untrusted holds the volumes an untrusted record names, with the
	// worst trust seen (tampered over unsealed).
	untrusted map[string]Trust
	// suiteTasks are the tasks a trusted record makes the suite's.
	suiteTasks map[string]bool
}

// planReplacements reads the replacement records in request order: it
// gives each the outcome EC2 reports for its task (or the task that
// matches a lost answer), to be written back, and reports the untrusted
// ones.
func (p *Plan) planReplacements(in PlanInput) replacementFacts {
	f := replacementFacts{byVolume: map[string][]outcome{}, untrusted: map[string]Trust{}, suiteTasks: map[string]bool{}}
	named := map[string]bool{}
	records := slices.SortedFunc(slices.Values(in.Records.Replacements), func(a, b Replacement) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), strings.Compare(a.ID, b.ID))
	})
	for _, r := range records {
		// Only a trusted record makes a task the suite's: a forged one
		// naming an external task would take it out of ADOPT's rules.
		if r.TaskID != "" && r.Trust == Trusted {
			f.suiteTasks[r.TaskID] = true
		}
		if !named[r.ReplacedVolumeID] {
			f.volumes = append(f.volumes, r.ReplacedVolumeID)
		}
		named[r.ReplacedVolumeID] = true
		if r.Trust != Trusted {
			// Unchecked: its volume is gone and its state final, so it
			// decides nothing. Untrusted: it keeps its volume, and says so.
			if r.Trust.Untrusted() {
				p.distrust(r.ID, KindReplacement, r.ReplacedVolumeID, r.Trust)
				if _, seen := f.untrusted[r.ReplacedVolumeID]; !seen || r.Trust == Tampered {
					f.untrusted[r.ReplacedVolumeID] = r.Trust
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
				f.suiteTasks[t.ID] = true
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
		f.byVolume[r.ReplacedVolumeID] = append(f.byVolume[r.ReplacedVolumeID], o)
	}
	return f
}

// planReplacedVolume decides a volume the replacement records name. A
// volume may be named by more than one request (one refused, a later one
// started): an untrusted record keeps it, a lost answer or a task still
// running keeps it, else a task EC2 confirms decides, else it was never
// replaced.
func (p *Plan) planReplacedVolume(in PlanInput, rolledBack map[string]bool, id string, f replacementFacts) {
	if t, ok := f.untrusted[id]; ok {
		reason := ReasonTampered
		if t == Unsealed {
			reason = ReasonUnsealed
		}
		p.keepIfExists(in, id, reason, "")
		return
	}
	outs := f.byVolume[id]
	if len(outs) == 0 {
		return
	}
	if i := slices.IndexFunc(outs, func(o outcome) bool { return o.state == StateUnknown }); i >= 0 {
		p.keepIfExists(in, id, ReasonAnswerLost, "")
		return
	}
	if i := slices.IndexFunc(outs, func(o outcome) bool {
		return o.state == StateRequested || o.state == StateStarted
	}); i >= 0 {
		p.keepIfExists(in, id, ReasonTaskNotDone, "(record "+outs[i].state+")")
		return
	}
	if i := slices.IndexFunc(outs, func(o outcome) bool { return o.state == StateSucceeded && o.confirmed }); i >= 0 {
		p.planReplaced(in, rolledBack, id, outs[i].task, outs[i].completed)
		return
	}
	if slices.ContainsFunc(outs, func(o outcome) bool { return o.state == StateSucceeded }) {
		p.keepIfExists(in, id, ReasonTaskUnconfirmed, "")
		return
	}
	if v, ok := in.Volumes[id]; ok && v.Labelled {
		p.Unlabel = append(p.Unlabel, id)
	}
	if slices.ContainsFunc(outs, func(o outcome) bool { return o.state == StateFailed }) {
		p.keepIfExists(in, id, ReasonTaskFailed, "")
		return
	}
	p.keepIfExists(in, id, ReasonTaskRefused, "")
}

// planReplaced applies the volume rule to a replaced root volume whose
// task (taskID) succeeded at completed.
func (p *Plan) planReplaced(in PlanInput, rolledBack map[string]bool, id, taskID string, completed time.Time) {
	v, ok := in.Volumes[id]
	switch {
	case !ok:
		// Gone: an earlier run deleted it, or someone did.
	case v.Keep:
		p.keep(id, KindVolume, ReasonKeepTag, "")
	case rolledBack[id+"#"+taskID]:
		p.keep(id, KindVolume, ReasonRolledBack, "")
	case in.Roots[id] != "":
		p.keep(id, KindVolume, ReasonIsRoot, "("+in.Roots[id]+")")
		if taskID != "" && in.Now.After(completed) {
			p.Rollbacks = append(p.Rollbacks, Rollback{VolumeID: id, TaskID: taskID, InstanceID: in.Roots[id], SeenAt: in.Now})
		}
	case v.Attached:
		p.keep(id, KindVolume, ReasonAttached, "")
	case v.State != string(types.VolumeStateAvailable):
		p.keep(id, KindVolume, ReasonNotAvailable, "")
	case completed.IsZero():
		p.keep(id, KindVolume, ReasonNoCompletion, "")
	case completed.Add(in.RetainReplaced).After(in.Now):
		p.keep(id, KindVolume, ReasonRollbackWindow, "until "+completed.Add(in.RetainReplaced).UTC().Format(time.RFC3339))
	default:
		p.Volumes = append(p.Volumes, id)
		if !v.Labelled {
			p.Label = append(p.Label, id)
		}
	}
}

// planExternalTasks decides the old root volumes of the succeeded tasks
// the suite did not start, where the root records pin one no record
// claims: kept unless ADOPT_EXTERNAL_REPLACEMENTS, and then under the
// volume rule. It adds the volumes it decides to claimed.
func (p *Plan) planExternalTasks(in PlanInput, rolledBack, suiteTasks, claimed map[string]bool) {
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
				p.keepIfExists(in, doubt, ReasonAmbiguousRoot, "(task "+t.ID+"): "+why)
			}
			continue
		}
		if claimed[old] {
			continue
		}
		claimed[old] = true
		if !in.AdoptExternal {
			p.keepIfExists(in, old, ReasonExternal, "")
			continue
		}
		p.planReplaced(in, rolledBack, old, t.ID, t.Completed)
	}
}

// planRoots reports the root records that do not verify.
func (p *Plan) planRoots(in PlanInput) {
	for _, o := range in.Records.Roots {
		if o.Trust.Untrusted() {
			p.distrust(o.ID, KindRoot, o.VolumeID, o.Trust)
		}
	}
}

// planUnrecorded keeps the labelled volumes no record or task claims: the
// label is not proof.
func (p *Plan) planUnrecorded(in PlanInput, claimed map[string]bool) {
	for _, id := range slices.Sorted(maps.Keys(in.Volumes)) {
		if in.Volumes[id].Labelled && !claimed[id] {
			p.keep(id, KindVolume, ReasonUnrecorded, "")
		}
	}
}

// planSnapshots decides the suite's snapshots: kept for snapshotReason,
// else for RETAIN_ORPHANED from when a run first saw the source gone (by
// a record only the suite could seal), else deleted.
func (p *Plan) planSnapshots(in PlanInput) {
	orphans := map[string]Orphan{}
	for _, o := range in.Records.Orphans {
		orphans[o.SnapshotID] = o
	}
	for _, s := range in.Snapshots {
		reason, detail := snapshotReason(in, s)
		if reason == "" && in.RetainOrphaned > 0 {
			o, ok := orphans[s.ID]
			switch {
			case !ok || o.Trust != Trusted || o.VolumeID != s.VolumeID:
				if ok && o.Trust.Untrusted() {
					p.distrust(o.ID, KindOrphan, s.ID, o.Trust)
				}
				p.Orphans = append(p.Orphans, Orphan{SnapshotID: s.ID, VolumeID: s.VolumeID, FirstSeen: in.Now})
				reason, detail = ReasonOrphanGrace, "until "+in.Now.Add(in.RetainOrphaned).UTC().Format(time.RFC3339)
			case o.FirstSeen.Add(in.RetainOrphaned).After(in.Now):
				reason, detail = ReasonOrphanGrace, "until "+o.FirstSeen.Add(in.RetainOrphaned).UTC().Format(time.RFC3339)
			}
		}
		if reason != "" {
			p.keep(s.ID, KindSnapshot, reason, detail)
			continue
		}
		p.Snapshots = append(p.Snapshots, s.ID)
	}
}

// detail says until when a lock holds, and in which mode: "until
// 2026-01-02T03:04:05Z (compliance mode)".
func (l SnapshotLock) detail() string {
	mode := map[string]string{
		string(types.LockStateCompliance):        "compliance mode: no one can unlock it",
		string(types.LockStateComplianceCooloff): "compliance mode, in its cooling-off period",
		string(types.LockStateGovernance):        "governance mode: a user with ec2:UnlockSnapshot can unlock it",
	}[l.State]
	if mode == "" {
		mode = "lock state " + l.State
	}
	if l.Expires.IsZero() {
		return "with no end date given (" + mode + ")"
	}
	return "until " + l.Expires.UTC().Format(time.RFC3339) + " (" + mode + ")"
}

// snapshotReason is why a suite-tagged snapshot is kept whatever its
// orphan record says, with the detail, or "" when only RETAIN_ORPHANED
// still holds it.
func snapshotReason(in PlanInput, s SnapshotFacts) (Reason, string) {
	marked, isMarked := MarkedVolume(s.Description)
	ami, backs := in.AMISnapshots[s.ID]
	lock, locked := in.Locks[s.ID]
	switch {
	case s.Keep:
		return ReasonKeepTag, ""
	case locked && lock.State != string(types.LockStateExpired):
		// Neither kept resource is a failed delete: EC2 refuses the
		// delete of a locked snapshot, so none is sent.
		return ReasonLocked, lock.detail()
	case s.BackupSource != "":
		return ReasonBackupManaged, "(" + s.BackupSource + ")"
	case in.LocksUnread != "":
		return ReasonLocksUnread, in.LocksUnread
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
