package rootvolume

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
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
	// lockPage: DescribeLockedSnapshots allows 1000.
	lockPage = 1000
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
// be used. What it trusts: the replacements table's records whose MAC
// verifies (only the suite's roles can make one), EC2's own answers about
// tasks, volumes, instances and images, and snapshot descriptions (fixed
// by EC2 at creation). Tags are labels: the delete-volume tag and the
// snapshot tag are never proof on their own.
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
	// RetainOrphaned is how long a suite snapshot is kept after a run
	// first saw its source volume gone.
	RetainOrphaned time.Duration
	// AdoptExternal also removes the old root volumes of succeeded tasks
	// the suite did not start (ADOPT_EXTERNAL_REPLACEMENTS).
	AdoptExternal bool
	DryRun        bool
	// Prices price the reclaim (RECLAIM_PRICES); zero means DefaultPrices.
	Prices Prices
	// RecycleBinDays is how long the stack's Recycle Bin rule keeps a
	// deleted snapshot (RECYCLE_BIN_DAYS; volumes RecycleBinVolumeDays);
	// 0: no rule, a delete is final.
	RecycleBinDays int
	// Limiter paces deletes; nil means no pacing (tests, benchmarks).
	Limiter *rate.Limiter
	Now     func() time.Time
	Log     *slog.Logger
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
	// Untrusted are the records whose MAC is missing or does not verify:
	// nothing was acted on because of them.
	Untrusted []UntrustedRecord `json:"untrusted"`
	// Reclaim is what the deletes free (in a dry run: would free).
	Reclaim Reclaim `json:"reclaim"`
	// Restorable says until when the Recycle Bin can give back each
	// deleted resource; empty without the stack's rule or in a dry run.
	Restorable []Restorable `json:"restorable"`
	// Notices are the refusals people were told of before, by resource ID,
	// as the run read them: the notification tells what is new.
	Notices map[string]Notice `json:"-"`
}

// Run gathers the records and EC2's state (gather.go), plans
// (PlanCleanup), and unless DryRun acts: writes what the plan learnt to
// the records, then deletes. If any listing fails, nothing is written or
// deleted and the error is returned. A dry run changes nothing at all.
func (c *Cleaner) Run(ctx context.Context) (CleanupSummary, error) {
	in, err := c.gather(ctx)
	if err != nil {
		return CleanupSummary{DryRun: c.DryRun}, err
	}
	plan := PlanCleanup(in)
	// No list is nil, so the summary's JSON says [] rather than null.
	sum := CleanupSummary{
		DryRun:            c.DryRun,
		VolumesToDelete:   append([]string{}, plan.Volumes...),
		SnapshotsToDelete: append([]string{}, plan.Snapshots...),
		VolumesDeleted:    []string{},
		SnapshotsDeleted:  []string{},
		RecordsUpdated:    []string{},
		Skipped:           append([]Skip{}, plan.Skipped...),
		Failed:            []Failure{},
		Untrusted:         append([]UntrustedRecord{}, plan.Untrusted...),
		Restorable:        []Restorable{},
		Notices:           in.Records.Notices,
	}
	log := c.logger()
	for _, u := range plan.Untrusted {
		log.WarnContext(ctx, "record does not verify: not acted on", "recordId", u.ID, "kind", u.Kind, "trust", u.Trust, "names", u.Names)
	}
	for _, s := range plan.Skipped {
		log.DebugContext(ctx, "keep", "id", s.ID, "kind", s.Kind, "reason", s.Text())
	}
	if c.DryRun {
		for _, id := range plan.Volumes {
			log.InfoContext(ctx, "would delete volume (dry run)", "volumeId", id)
		}
		for _, id := range plan.Snapshots {
			log.InfoContext(ctx, "would delete snapshot (dry run)", "snapshotId", id)
		}
		sum.Reclaim = ReclaimOf(in, plan.Volumes, plan.Snapshots, c.Prices)
		return sum, nil
	}

	// Work stops a margin before the invocation's deadline, so the summary
	// is still returned; the next run picks up what is left.
	run := deadline.Start(ctx)
	defer run.Stop()
	work := run.Work()
	c.writeRecords(ctx, work, plan, &sum)
	c.deletePlanned(ctx, work, plan, &sum)
	// What went, priced from the same facts a dry run prices.
	sum.Reclaim = ReclaimOf(in, sum.VolumesDeleted, sum.SnapshotsDeleted, c.Prices)
	sum.Restorable = restorable(sum.VolumesDeleted, sum.SnapshotsDeleted, c.now(), c.RecycleBinDays)
	return sum, nil
}

// writeRecords writes what the plan learnt: the tasks' outcomes, the
// rollbacks and the orphans first seen, and takes the label off the
// volumes whose replacement failed. A failed write is logged and recorded
// in sum, and the next is tried.
func (c *Cleaner) writeRecords(ctx, work context.Context, plan Plan, sum *CleanupSummary) {
	log := c.logger()
	for _, r := range plan.Records {
		if err := c.Store.UpdateReplacement(work, r); err != nil {
			log.WarnContext(ctx, "record not updated", "recordId", r.ID, "taskId", r.TaskID, "error", err.Error())
			sum.Failed = append(sum.Failed, Failure{ID: r.ID, Kind: "record", Error: err.Error()})
			continue
		}
		log.InfoContext(ctx, "record updated", "recordId", r.ID, "taskId", r.TaskID, "instanceId", r.InstanceID, "state", r.State)
		sum.RecordsUpdated = append(sum.RecordsUpdated, r.ID)
	}
	for _, r := range plan.Rollbacks {
		if err := c.Store.PutRollback(work, r); err != nil {
			log.WarnContext(ctx, "rollback not recorded", "volumeId", r.VolumeID, "taskId", r.TaskID, "error", err.Error())
			sum.Failed = append(sum.Failed, Failure{ID: r.VolumeID, Kind: "record", Error: err.Error()})
			continue
		}
		log.InfoContext(ctx, "rollback recorded: the task no longer decides this volume", "volumeId", r.VolumeID, "taskId", r.TaskID, "instanceId", r.InstanceID)
	}
	for _, o := range plan.Orphans {
		if err := c.Store.PutOrphan(work, o); err != nil {
			log.WarnContext(ctx, "orphaned snapshot not recorded", "snapshotId", o.SnapshotID, "error", err.Error())
			sum.Failed = append(sum.Failed, Failure{ID: o.SnapshotID, Kind: "record", Error: err.Error()})
		}
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
}

// deletePlanned deletes the planned volumes, then the planned snapshots;
// a run that runs out of time leaves the rest to the next and says so in
// sum.StoppedEarly.
func (c *Cleaner) deletePlanned(ctx, work context.Context, plan Plan, sum *CleanupSummary) {
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

func (c *Cleaner) now() time.Time { return clock.Now(c.Now) }

func (c *Cleaner) logger() *slog.Logger { return cmp.Or(c.Log, slog.Default()) }
