package rootvolume

import "encoding/json"

// Reason is why the cleanup keeps a resource. Its text is what an operator
// reads, the EMF dimension a kept resource counts under and the reason a
// refusal notice records, so a Reason's text does not change; the details
// of one resource (an instance, a date, a cause) go in Skip.Detail.
type Reason string

// Reasons a resource is kept.
const (
	ReasonKeepTag        Reason = "carries KEEP_TAG"
	ReasonAttached       Reason = "attached to an instance"
	ReasonIsRoot         Reason = "is an instance's root volume"
	ReasonNotAvailable   Reason = "not in the available state"
	ReasonRollbackWindow Reason = "inside the rollback window (RETAIN_REPLACED)"
	ReasonTaskFailed     Reason = "its replacement task failed: the volume was never replaced"
	ReasonTaskRefused    Reason = "EC2 refused its replacement task: the volume was never replaced"
	ReasonTaskNotDone    Reason = "its replacement task has not succeeded yet"
	ReasonNoCompletion   Reason = "its replacement task has no completion time"
	ReasonExternal       Reason = "replaced by a task the suite did not start (ADOPT_EXTERNAL_REPLACEMENTS is false)"
	ReasonUnrecorded     Reason = "carries the delete-volume tag but no replacement record names it: a tag is not proof (volumes an earlier version tagged are kept too; see README)"
	ReasonUnmarked       Reason = "its description lacks the suite's marker: the tag alone is not proof (snapshots of an earlier version are kept too; see README)"
	ReasonMarkMismatch   Reason = "its description names another volume than the one EC2 reports"
	ReasonBacksAMI       Reason = "backs an AMI"
	ReasonRecycleBin     Reason = "an AMI in the Recycle Bin may hold it"
	ReasonRecycleUnread  Reason = "the Recycle Bin's AMIs could not be read"
	ReasonNotCompleted   Reason = "not completed"
	ReasonSourceExists   Reason = "its source volume still exists"
	ReasonTooYoung       Reason = "younger than MIN_AGE"
	// ReasonUnsealed and ReasonTampered: the record that names the
	// resource has no MAC, or one that does not verify; it is never acted
	// on (records written before the suite sealed them carry none: see
	// README).
	ReasonUnsealed Reason = "the record naming it carries no MAC: it is not acted on (forged, or written by an earlier version)"
	ReasonTampered Reason = "the record naming it does not verify (tampered): it is not acted on"
	// ReasonTaskUnconfirmed: the record says the task succeeded, but EC2
	// does not list that task for that instance and volume.
	ReasonTaskUnconfirmed Reason = "EC2 does not confirm its replacement task"
	// ReasonAnswerLost: EC2's answer to the request was lost; until a task
	// is found for it, the volume stays.
	ReasonAnswerLost Reason = "EC2's answer to its replacement request was lost (record unknown) and no task of EC2 matches it yet"
	// ReasonRolledBack: the volume was seen again as an instance's root
	// after its task, so that task no longer decides its delete.
	ReasonRolledBack Reason = "was put back as an instance's root after its replacement (rolled back): its task no longer decides"
	// ReasonAmbiguousRoot: ADOPT_EXTERNAL_REPLACEMENTS, but the facts do
	// not pin which volume the external task replaced.
	ReasonAmbiguousRoot Reason = "replaced by a task the suite did not start, and the records do not pin which volume it replaced"
	// ReasonOrphanGrace: the snapshot's source volume is gone, but not
	// for RETAIN_ORPHANED yet.
	ReasonOrphanGrace Reason = "its source volume is gone, kept for RETAIN_ORPHANED"
	// ReasonLocked: LockSnapshot locked it; EC2 refuses its delete until
	// the lock ends. The detail says until when, and the mode.
	ReasonLocked Reason = "locked"
	// ReasonLocksUnread: DescribeLockedSnapshots failed; a lock cannot be
	// ruled out, so no snapshot goes this run.
	ReasonLocksUnread Reason = "the snapshot locks could not be read"
	// ReasonBackupManaged: AWS Backup made it (its aws:backup:source-resource
	// tag); it goes through its backup vault's lifecycle, not the EC2 API.
	ReasonBackupManaged Reason = "managed by AWS Backup: its recovery point's lifecycle deletes it"
)

// Refusal reports whether a resource kept for r is a refusal: the cleanup
// was asked to delete it (a delete-volume label, a replacement record, a
// suite-looking snapshot tag) and it will not go by itself, so a person has
// to look. Waits that end by themselves (the rollback window, MIN_AGE, a
// task still running, a snapshot whose volume is alive) are not refusals,
// nor is KEEP_TAG: a person set it.
func (r Reason) Refusal() bool {
	switch r {
	case ReasonUnrecorded, ReasonTaskFailed, ReasonTaskRefused, ReasonExternal,
		ReasonAttached, ReasonIsRoot, ReasonUnmarked, ReasonMarkMismatch,
		ReasonUnsealed, ReasonTampered, ReasonTaskUnconfirmed, ReasonAnswerLost,
		ReasonAmbiguousRoot:
		return true
	}
	return false
}

// Skip is a resource the cleanup keeps, and why: Reason is the rule that
// keeps it, Detail what of this resource the rule rests on ("(i-0abc)",
// "until 2026-01-02T03:04:05Z"), or "".
type Skip struct {
	ID     string
	Kind   string
	Reason Reason
	Detail string
}

// Text is the reason as an operator reads it: the reason, then its detail
// (after a colon when the detail is the cause, as for ReasonRecycleUnread;
// after a space otherwise).
func (s Skip) Text() string {
	switch {
	case s.Detail == "":
		return string(s.Reason)
	case s.Reason == ReasonRecycleUnread, s.Reason == ReasonLocksUnread:
		return string(s.Reason) + ": " + s.Detail
	}
	return string(s.Reason) + " " + s.Detail
}

// skipJSON is a Skip as the summary returns and logs it.
type skipJSON struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// MarshalJSON writes the Skip as {"id", "kind", "reason"}, the reason
// being Text.
func (s Skip) MarshalJSON() ([]byte, error) {
	return json.Marshal(skipJSON{ID: s.ID, Kind: s.Kind, Reason: s.Text()})
}
