package rootvolume

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"golang.org/x/time/rate"
)

// Page sizes: the largest each Describe call allows.
const (
	volumePage   = 500
	snapshotPage = 1000
	imagePage    = 1000
	// instancePage, taskPage and recycleBinPage: DescribeInstances allows
	// 1000, DescribeReplaceRootVolumeTasks 50, ListImagesInRecycleBin 1000.
	instancePage   = 1000
	taskPage       = 50
	recycleBinPage = 1000
	// filterBatch is how many volume IDs one DescribeVolumes filter carries
	// (EC2 accepts up to 200 values per filter).
	filterBatch = 200
)

// Kinds of resource in a cleanup summary.
const (
	KindVolume   = "volume"
	KindSnapshot = "snapshot"
)

// Cleaner deletes the root volumes the suite provably replaced, once their
// rollback window has passed, and the suite's snapshots that can no longer
// be used. What it trusts: the replacements table (only the suite's roles
// write it), EC2's own answers about tasks, volumes, instances and images,
// and snapshot descriptions (fixed by EC2 at creation). Tags are labels:
// the delete-volume tag and the snapshot tag are never proof on their own.
type Cleaner struct {
	EC2         cleanupAPI
	Store       *Store
	SnapshotTag Tag
	DeleteTag   Tag
	KeepTag     Tag
	// MinAge is how old a snapshot must be before it is deleted.
	MinAge time.Duration
	// RetainReplaced is the rollback window: how long after its task
	// completed a replaced root volume is kept.
	RetainReplaced time.Duration
	// AdoptExternal also removes the old root volumes of succeeded tasks
	// the suite did not start (ADOPT_EXTERNAL_REPLACEMENTS).
	AdoptExternal bool
	DryRun        bool
	// Limiter paces deletes; nil means no pacing (tests, benchmarks).
	Limiter *rate.Limiter
	Now     func() time.Time
	Log     *slog.Logger
}

// VolumeFacts is what EC2 says of a volume the cleanup considers.
type VolumeFacts struct {
	ID       string
	State    string
	Attached bool
	Labelled bool // carries DELETE_VOLUME_TAG
	Keep     bool // carries KEEP_TAG
}

// TaskFacts is what DescribeReplaceRootVolumeTasks says of a task.
type TaskFacts struct {
	ID, InstanceID, State string
	Started, Completed    time.Time
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

// Skip is a resource the cleanup keeps, and why.
type Skip struct {
	ID     string `json:"id"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Failure is a delete that did not succeed.
type Failure struct {
	ID    string `json:"id"`
	Kind  string `json:"kind"`
	Error string `json:"error"`
}

// Plan is what a cleanup will delete, what it keeps, and which records'
// outcomes it writes.
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
}

// PlanInput is everything a cleanup decision rests on.
type PlanInput struct {
	Now            time.Time
	MinAge         time.Duration
	RetainReplaced time.Duration
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

// Reasons a resource is kept.
const (
	ReasonKeepTag        = "carries KEEP_TAG"
	ReasonAttached       = "attached to an instance"
	ReasonIsRoot         = "is an instance's root volume"
	ReasonNotAvailable   = "not in the available state"
	ReasonRollbackWindow = "inside the rollback window (RETAIN_REPLACED)"
	ReasonTaskFailed     = "its replacement task failed: the volume was never replaced"
	ReasonTaskRefused    = "EC2 refused its replacement task: the volume was never replaced"
	ReasonTaskNotDone    = "its replacement task has not succeeded yet"
	ReasonNoCompletion   = "its replacement task has no completion time"
	ReasonExternal       = "replaced by a task the suite did not start (ADOPT_EXTERNAL_REPLACEMENTS is false)"
	ReasonUnrecorded     = "carries the delete-volume tag but no replacement record names it: a tag is not proof (volumes an earlier version tagged are kept too; see README)"
	ReasonUnmarked       = "its description lacks the suite's marker: the tag alone is not proof (snapshots of an earlier version are kept too; see README)"
	ReasonMarkMismatch   = "its description names another volume than the one EC2 reports"
	ReasonBacksAMI       = "backs an AMI"
	ReasonRecycleBin     = "an AMI in the Recycle Bin may hold it"
	ReasonRecycleUnread  = "the Recycle Bin's AMIs could not be read"
	ReasonNotCompleted   = "not completed"
	ReasonSourceExists   = "its source volume still exists"
	ReasonTooYoung       = "younger than MIN_AGE"
)

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

// RootBefore returns the root volume the instance had when a task started:
// of the root volumes recorded for it, the newest created before start.
func RootBefore(roots []RootObservation, instanceID string, start time.Time) string {
	var best RootObservation
	for _, o := range roots {
		if o.InstanceID == instanceID && o.VolumeCreated.Before(start) && o.VolumeCreated.After(best.VolumeCreated) {
			best = o
		}
	}
	return best.VolumeID
}

// PlanCleanup decides, from plain data, what may be deleted. Whatever is in
// doubt is kept.
func PlanCleanup(in PlanInput) Plan {
	var p Plan
	keep := func(id, kind, reason string) {
		p.Skipped = append(p.Skipped, Skip{ID: id, Kind: kind, Reason: reason})
	}
	// consider applies the volume rule to a replaced root volume whose task
	// succeeded at completed.
	consider := func(id string, completed time.Time) {
		v, ok := in.Volumes[id]
		switch {
		case !ok:
			// Gone: EC2 deleted it with the task, or an earlier run did.
		case v.Keep:
			keep(id, KindVolume, ReasonKeepTag)
		case in.Roots[id] != "":
			keep(id, KindVolume, ReasonIsRoot+" ("+in.Roots[id]+")")
		case v.Attached:
			keep(id, KindVolume, ReasonAttached)
		case v.State != string(types.VolumeStateAvailable):
			keep(id, KindVolume, ReasonNotAvailable)
		case completed.IsZero():
			keep(id, KindVolume, ReasonNoCompletion)
		case completed.Add(in.RetainReplaced).After(in.Now):
			keep(id, KindVolume, ReasonRollbackWindow+" until "+completed.Add(in.RetainReplaced).UTC().Format(time.RFC3339))
		default:
			p.Volumes = append(p.Volumes, id)
			if !v.Labelled {
				p.Label = append(p.Label, id)
			}
		}
	}
	keepIfExists := func(id, reason string) {
		if _, ok := in.Volumes[id]; ok {
			keep(id, KindVolume, reason)
		}
	}

	claimed := map[string]bool{}
	suiteTasks := map[string]bool{}
	records := slices.SortedFunc(slices.Values(in.Records.Replacements), func(a, b Replacement) int {
		return cmp.Or(a.RequestedAt.Compare(b.RequestedAt), strings.Compare(a.ID, b.ID))
	})
	// A volume may be named by more than one request (one refused, a later
	// one started): a task still running keeps it, else a succeeded one
	// decides, else it was never replaced.
	type outcome struct {
		state     string
		completed time.Time
	}
	byVolume := map[string][]outcome{}
	var volumes []string
	for _, r := range records {
		if r.TaskID != "" {
			suiteTasks[r.TaskID] = true
		}
		o := outcome{state: r.State}
		if r.CompletedAt != nil {
			o.completed = *r.CompletedAt
		}
		if t, ok := in.Tasks[r.TaskID]; ok && r.TaskID != "" {
			if out := taskOutcome(t.State); out != "" && out != r.State {
				o = outcome{state: out, completed: t.Completed}
				u := r
				u.State, u.UpdatedAt, u.Reason = out, in.Now, "EC2 reports the task "+t.State
				if !t.Completed.IsZero() {
					u.CompletedAt = &o.completed
				}
				p.Records = append(p.Records, u)
			}
		}
		if !claimed[r.ReplacedVolumeID] {
			volumes = append(volumes, r.ReplacedVolumeID)
		}
		claimed[r.ReplacedVolumeID] = true
		byVolume[r.ReplacedVolumeID] = append(byVolume[r.ReplacedVolumeID], o)
	}
	for _, id := range volumes {
		outs := byVolume[id]
		if i := slices.IndexFunc(outs, func(o outcome) bool {
			return o.state == StateRequested || o.state == StateStarted
		}); i >= 0 {
			keepIfExists(id, ReasonTaskNotDone+" (record "+outs[i].state+")")
			continue
		}
		if i := slices.IndexFunc(outs, func(o outcome) bool { return o.state == StateSucceeded }); i >= 0 {
			consider(id, outs[i].completed)
			continue
		}
		if v, ok := in.Volumes[id]; ok && v.Labelled {
			p.Unlabel = append(p.Unlabel, id)
		}
		if slices.ContainsFunc(outs, func(o outcome) bool { return o.state == StateFailed }) {
			keepIfExists(id, ReasonTaskFailed)
			continue
		}
		keepIfExists(id, ReasonTaskRefused)
	}

	tasks := slices.SortedFunc(maps.Values(in.Tasks), func(a, b TaskFacts) int { return strings.Compare(a.ID, b.ID) })
	for _, t := range tasks {
		if suiteTasks[t.ID] || taskOutcome(t.State) != StateSucceeded {
			continue
		}
		old := RootBefore(in.Records.Roots, t.InstanceID, t.Started)
		if old == "" || claimed[old] {
			continue
		}
		claimed[old] = true
		if !in.AdoptExternal {
			keepIfExists(old, ReasonExternal)
			continue
		}
		consider(old, t.Completed)
	}

	for _, id := range slices.Sorted(maps.Keys(in.Volumes)) {
		if in.Volumes[id].Labelled && !claimed[id] {
			keep(id, KindVolume, ReasonUnrecorded)
		}
	}

	for _, s := range in.Snapshots {
		marked, isMarked := MarkedVolume(s.Description)
		ami, backs := in.AMISnapshots[s.ID]
		reason := ""
		switch {
		case s.Keep:
			reason = ReasonKeepTag
		case !isMarked:
			reason = ReasonUnmarked
		case marked != s.VolumeID:
			reason = ReasonMarkMismatch
		case backs:
			reason = ReasonBacksAMI + " (" + ami + ")"
		case in.RecycleBinUnread != "":
			reason = ReasonRecycleUnread + ": " + in.RecycleBinUnread
		case slices.ContainsFunc(in.RecycleBin, func(a RecycledAMI) bool { return !a.Entered.Before(s.Created) }):
			// Only an AMI that entered the bin after the snapshot was
			// made can hold it.
			reason = ReasonRecycleBin
		case s.State != string(types.SnapshotStateCompleted):
			reason = ReasonNotCompleted
		case in.ExistingVolumes[s.VolumeID]:
			reason = ReasonSourceExists
		case s.Created.IsZero() || s.Created.Add(in.MinAge).After(in.Now):
			reason = ReasonTooYoung
		}
		if reason != "" {
			keep(s.ID, KindSnapshot, reason)
			continue
		}
		p.Snapshots = append(p.Snapshots, s.ID)
	}
	return p
}

// CleanupSummary is what a run returns and logs.
type CleanupSummary struct {
	DryRun bool `json:"dryRun"`
	// The plan: what this run deletes (or, in a dry run, would delete).
	VolumesToDelete   []string `json:"volumesToDelete"`
	SnapshotsToDelete []string `json:"snapshotsToDelete"`
	// What was deleted; empty in a dry run.
	VolumesDeleted   []string `json:"volumesDeleted"`
	SnapshotsDeleted []string `json:"snapshotsDeleted"`
	// RecordsUpdated are the replacement records given EC2's outcome of
	// their task (none in a dry run).
	RecordsUpdated []string  `json:"recordsUpdated"`
	Skipped        []Skip    `json:"skipped"`
	Failed         []Failure `json:"failed"`
	// StoppedEarly is set when the invocation's deadline came before every
	// delete was tried; the next run continues.
	StoppedEarly bool `json:"stoppedEarly,omitempty"`
	// Notices are the refusals people were told of before, by resource ID,
	// as the run read them: the notification tells what is new.
	Notices map[string]Notice `json:"-"`
}

// Run reads the records and EC2's state, plans, and (unless DryRun) writes
// the tasks' outcomes to the records and deletes. If any listing fails,
// nothing is written or deleted and the error is returned. A dry run
// changes nothing at all.
func (c *Cleaner) Run(ctx context.Context) (CleanupSummary, error) {
	in, err := c.gather(ctx)
	if err != nil {
		return CleanupSummary{DryRun: c.DryRun}, err
	}
	plan := PlanCleanup(in)
	sum := CleanupSummary{
		DryRun:            c.DryRun,
		VolumesToDelete:   nonNil(plan.Volumes),
		SnapshotsToDelete: nonNil(plan.Snapshots),
		VolumesDeleted:    []string{},
		SnapshotsDeleted:  []string{},
		RecordsUpdated:    []string{},
		Skipped:           nonNil(plan.Skipped),
		Failed:            []Failure{},
		Notices:           in.Records.Notices,
	}
	log := c.logger()
	for _, s := range plan.Skipped {
		log.DebugContext(ctx, "keep", "id", s.ID, "kind", s.Kind, "reason", s.Reason)
	}
	if c.DryRun {
		for _, id := range plan.Volumes {
			log.InfoContext(ctx, "would delete volume (dry run)", "volumeId", id)
		}
		for _, id := range plan.Snapshots {
			log.InfoContext(ctx, "would delete snapshot (dry run)", "snapshotId", id)
		}
		return sum, nil
	}

	// Work stops a margin before the invocation's deadline, so the summary
	// is still returned; the next run picks up what is left.
	work, cancel, _ := deadline.Budget(ctx)
	defer cancel()
	for _, r := range plan.Records {
		if err := c.Store.UpdateReplacement(work, r); err != nil {
			log.WarnContext(ctx, "record not updated", "recordId", r.ID, "taskId", r.TaskID, "error", err.Error())
			sum.Failed = append(sum.Failed, Failure{ID: r.ID, Kind: "record", Error: err.Error()})
			continue
		}
		log.InfoContext(ctx, "record updated", "recordId", r.ID, "taskId", r.TaskID, "instanceId", r.InstanceID, "state", r.State)
		sum.RecordsUpdated = append(sum.RecordsUpdated, r.ID)
	}
	for _, id := range plan.Unlabel {
		_, err := c.EC2.DeleteTags(work, &ec2.DeleteTagsInput{Resources: []string{id}, Tags: []types.Tag{c.DeleteTag.ec2()}})
		if err != nil {
			log.WarnContext(ctx, "label not removed", "volumeId", id, "error", err.Error())
			sum.Failed = append(sum.Failed, Failure{ID: id, Kind: "label", Error: err.Error()})
			continue
		}
		log.InfoContext(ctx, "label removed: the replacement failed", "volumeId", id, "tag", c.DeleteTag.String())
	}
	// Volumes first, then snapshots; a run that runs out of time leaves the
	// rest to the next.
	volumes := c.deleteEach(ctx, work, KindVolume, plan.Volumes, func(id string) error {
		return c.deleteVolume(work, id, slices.Contains(plan.Label, id))
	})
	sum.VolumesDeleted = append(sum.VolumesDeleted, volumes.deleted...)
	sum.Failed = append(sum.Failed, volumes.failed...)
	finished := volumes.finished
	if finished {
		snapshots := c.deleteEach(ctx, work, KindSnapshot, plan.Snapshots, func(id string) error {
			_, err := c.EC2.DeleteSnapshot(work, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)})
			return err
		})
		sum.SnapshotsDeleted = append(sum.SnapshotsDeleted, snapshots.deleted...)
		sum.Failed = append(sum.Failed, snapshots.failed...)
		finished = snapshots.finished
	}
	sum.StoppedEarly = !finished
	return sum, nil
}

// deleteResult is what deleteEach did with one kind of resource.
type deleteResult struct {
	deleted  []string
	failed   []Failure
	finished bool // every ID was tried before the budget ran out
}

// deleteEach calls del for each ID in order, paced by the limiter, and stops
// when the work budget is spent. A failed delete is logged and recorded, and
// the next ID is tried.
func (c *Cleaner) deleteEach(ctx, work context.Context, kind string, ids []string, del func(id string) error) deleteResult {
	log := c.logger()
	var out deleteResult
	for _, id := range ids {
		if !c.mayDelete(work) {
			return out
		}
		if err := del(id); err != nil {
			log.WarnContext(ctx, "delete failed", "kind", kind, "id", id, "error", err.Error())
			out.failed = append(out.failed, Failure{ID: id, Kind: kind, Error: err.Error()})
			continue
		}
		log.InfoContext(ctx, "deleted", "kind", kind, "id", id)
		out.deleted = append(out.deleted, id)
	}
	out.finished = true
	return out
}

// mayDelete reports whether one more delete may start: the limiter, if
// any, lets it through before the budget ends, and the budget is not spent.
func (c *Cleaner) mayDelete(work context.Context) bool {
	if c.Limiter != nil {
		if err := c.Limiter.Wait(work); err != nil {
			return false
		}
	}
	return work.Err() == nil
}

// deleteVolume deletes a replaced volume. An adopted volume carries no
// label yet and IAM lets the cleanup delete only labelled volumes, so
// the label goes on first.
func (c *Cleaner) deleteVolume(ctx context.Context, id string, label bool) error {
	if label {
		if _, err := c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{c.DeleteTag.ec2()}}); err != nil {
			return fmt.Errorf("label: %w", err)
		}
	}
	_, err := c.EC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(id)})
	return err
}

// gather reads, with server-side filters and the largest pages, everything
// the plan rests on: the records, EC2's tasks, the volumes they name and the
// labelled ones, the instances' root volumes, the tagged snapshots, their
// sources, the account's AMIs (disabled ones included) and the Recycle Bin.
func (c *Cleaner) gather(ctx context.Context) (PlanInput, error) {
	in := PlanInput{
		Now: c.now(), MinAge: c.MinAge, RetainReplaced: c.RetainReplaced, AdoptExternal: c.AdoptExternal,
		Tasks: map[string]TaskFacts{}, Volumes: map[string]VolumeFacts{}, Roots: map[string]string{},
		ExistingVolumes: map[string]bool{}, AMISnapshots: map[string]string{},
	}
	var err error
	if in.Records, err = c.Store.Load(ctx); err != nil {
		return in, err
	}

	tp := ec2.NewDescribeReplaceRootVolumeTasksPaginator(c.EC2, &ec2.DescribeReplaceRootVolumeTasksInput{MaxResults: aws.Int32(taskPage)})
	for tp.HasMorePages() {
		page, err := tp.NextPage(ctx)
		if err != nil {
			return in, fmt.Errorf("list replace-root-volume tasks: %w", err)
		}
		for _, t := range page.ReplaceRootVolumeTasks {
			f := TaskFacts{ID: aws.ToString(t.ReplaceRootVolumeTaskId), InstanceID: aws.ToString(t.InstanceId), State: string(t.TaskState)}
			f.Started, _ = parseTaskTime(t.StartTime)
			f.Completed, _ = parseTaskTime(t.CompleteTime)
			in.Tasks[f.ID] = f
		}
	}

	// The volumes to look at: named by a record, the old root of a task
	// the suite did not start, or carrying the label.
	named := map[string]bool{}
	for _, r := range in.Records.Replacements {
		named[r.ReplacedVolumeID] = true
	}
	for _, t := range in.Tasks {
		if old := RootBefore(in.Records.Roots, t.InstanceID, t.Started); old != "" {
			named[old] = true
		}
	}
	addVolume := func(v types.Volume) {
		in.Volumes[aws.ToString(v.VolumeId)] = VolumeFacts{
			ID: aws.ToString(v.VolumeId), State: string(v.State), Attached: len(v.Attachments) > 0,
			Labelled: c.DeleteTag.On(v.Tags), Keep: c.KeepTag.On(v.Tags),
		}
	}
	if err := c.describeVolumes(ctx, slices.Sorted(maps.Keys(named)), addVolume); err != nil {
		return in, fmt.Errorf("describe replaced volumes: %w", err)
	}
	vp := ec2.NewDescribeVolumesPaginator(c.EC2, &ec2.DescribeVolumesInput{
		Filters:    []types.Filter{c.DeleteTag.Filter()},
		MaxResults: aws.Int32(volumePage),
	})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			return in, fmt.Errorf("list volumes tagged %s: %w", c.DeleteTag, err)
		}
		for _, v := range page.Volumes {
			addVolume(v)
		}
	}
	if len(in.Volumes) > 0 {
		ip := ec2.NewDescribeInstancesPaginator(c.EC2, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(instancePage)})
		for ip.HasMorePages() {
			page, err := ip.NextPage(ctx)
			if err != nil {
				return in, fmt.Errorf("list instances' root volumes: %w", err)
			}
			for _, r := range page.Reservations {
				for _, inst := range r.Instances {
					if root, err := RootVolumeOf(inst); err == nil {
						in.Roots[root] = aws.ToString(inst.InstanceId)
					}
				}
			}
		}
	}

	sp := ec2.NewDescribeSnapshotsPaginator(c.EC2, &ec2.DescribeSnapshotsInput{
		// The tag filter also keeps out public snapshots, which some EC2
		// emulators list despite OwnerIds.
		OwnerIds:   []string{"self"},
		Filters:    []types.Filter{c.SnapshotTag.Filter()},
		MaxResults: aws.Int32(snapshotPage),
	})
	sources := map[string]bool{}
	for sp.HasMorePages() {
		page, err := sp.NextPage(ctx)
		if err != nil {
			return in, fmt.Errorf("list snapshots tagged %s: %w", c.SnapshotTag, err)
		}
		for _, s := range page.Snapshots {
			if !c.SnapshotTag.On(s.Tags) {
				continue
			}
			vol := aws.ToString(s.VolumeId)
			in.Snapshots = append(in.Snapshots, SnapshotFacts{
				ID: aws.ToString(s.SnapshotId), VolumeID: vol, Description: aws.ToString(s.Description),
				State: string(s.State), Created: aws.ToTime(s.StartTime), Keep: c.KeepTag.On(s.Tags),
			})
			if vol != "" {
				sources[vol] = true
			}
		}
	}
	if len(in.Snapshots) == 0 {
		return in, nil
	}

	if err := c.describeVolumes(ctx, slices.Sorted(maps.Keys(sources)), func(v types.Volume) {
		in.ExistingVolumes[aws.ToString(v.VolumeId)] = true
	}); err != nil {
		return in, fmt.Errorf("check source volumes: %w", err)
	}

	ip := ec2.NewDescribeImagesPaginator(c.EC2, &ec2.DescribeImagesInput{
		Owners:          []string{"self"},
		IncludeDisabled: aws.Bool(true),
		MaxResults:      aws.Int32(imagePage),
	})
	for ip.HasMorePages() {
		page, err := ip.NextPage(ctx)
		if err != nil {
			return in, fmt.Errorf("list AMIs: %w", err)
		}
		for _, img := range page.Images {
			for _, m := range img.BlockDeviceMappings {
				if m.Ebs != nil && m.Ebs.SnapshotId != nil {
					in.AMISnapshots[aws.ToString(m.Ebs.SnapshotId)] = aws.ToString(img.ImageId)
				}
			}
		}
	}

	// AMIs in the Recycle Bin are listed without their snapshots. A failed
	// read keeps every snapshot, but volumes may still go.
	rp := ec2.NewListImagesInRecycleBinPaginator(c.EC2, &ec2.ListImagesInRecycleBinInput{MaxResults: aws.Int32(recycleBinPage)})
	for rp.HasMorePages() {
		page, err := rp.NextPage(ctx)
		if err != nil {
			in.RecycleBin, in.RecycleBinUnread = nil, err.Error()
			break
		}
		for _, img := range page.Images {
			in.RecycleBin = append(in.RecycleBin, RecycledAMI{ID: aws.ToString(img.ImageId), Entered: aws.ToTime(img.RecycleBinEnterTime)})
		}
	}
	return in, nil
}

// describeVolumes describes the volumes with these IDs that exist, in
// batches of IDs in one filter (a missing ID is no error with a filter).
func (c *Cleaner) describeVolumes(ctx context.Context, ids []string, each func(types.Volume)) error {
	for batch := range slices.Chunk(ids, filterBatch) {
		p := ec2.NewDescribeVolumesPaginator(c.EC2, &ec2.DescribeVolumesInput{
			Filters:    []types.Filter{filter("volume-id", batch...)},
			MaxResults: aws.Int32(volumePage),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, v := range page.Volumes {
				each(v)
			}
		}
	}
	return nil
}

func (c *Cleaner) now() time.Time { return clock.Now(c.Now) }

func (c *Cleaner) logger() *slog.Logger { return cmp.Or(c.Log, slog.Default()) }

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
