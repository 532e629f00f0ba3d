package rootvolume

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"
)

// Page sizes: the largest each Describe call allows.
const (
	volumePage   = 500
	snapshotPage = 1000
	imagePage    = 1000
	// filterBatch is how many volume IDs one DescribeVolumes filter carries
	// (EC2 accepts up to 200 values per filter).
	filterBatch = 200
)

// Kinds of resource in a cleanup summary.
const (
	KindVolume   = "volume"
	KindSnapshot = "snapshot"
)

// Cleaner deletes replaced root volumes and snapshots that can no longer
// be used.
type Cleaner struct {
	EC2         cleanupAPI
	SnapshotTag Tag
	DeleteTag   Tag
	MinAge      time.Duration
	DryRun      bool
	// Limiter paces deletes; nil means no pacing (tests, benchmarks).
	Limiter *rate.Limiter
	Now     func() time.Time
	Log     *slog.Logger
}

// Candidate is a resource that is tagged for the cleanup.
type Candidate struct {
	ID       string
	Created  time.Time
	State    string
	Attached bool   // volumes: has an attachment
	VolumeID string // snapshots: the source volume
	Tagged   bool
}

// Skip is a tagged resource the cleanup keeps, and why.
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

// Plan is what a cleanup will delete and what it keeps.
type Plan struct {
	Volumes   []string
	Snapshots []string
	Skipped   []Skip
}

// PlanInput is everything a cleanup decision rests on.
type PlanInput struct {
	Volumes         []Candidate
	Snapshots       []Candidate
	ExistingVolumes map[string]bool   // source volumes that still exist
	AMISnapshots    map[string]string // snapshot ID → an AMI it backs
	Now             time.Time
	MinAge          time.Duration
}

// Reasons a tagged resource is kept.
const (
	ReasonAttached     = "attached to an instance"
	ReasonNotAvailable = "not in the available state"
	ReasonTooYoung     = "younger than MIN_AGE"
	ReasonNotTagged    = "does not carry the tag"
	ReasonSourceExists = "its source volume still exists"
	ReasonBacksAMI     = "backs an AMI"
	ReasonNotCompleted = "not completed"
)

// PlanCleanup decides, from plain data, what may be deleted. Whatever is in
// doubt is kept.
func PlanCleanup(in PlanInput) Plan {
	var p Plan
	old := func(c Candidate) bool { return !c.Created.IsZero() && !c.Created.Add(in.MinAge).After(in.Now) }
	for _, v := range in.Volumes {
		reason := ""
		switch {
		case !v.Tagged:
			reason = ReasonNotTagged
		case v.Attached:
			reason = ReasonAttached
		case v.State != string(types.VolumeStateAvailable):
			reason = ReasonNotAvailable
		case !old(v):
			reason = ReasonTooYoung
		}
		if reason != "" {
			p.Skipped = append(p.Skipped, Skip{ID: v.ID, Kind: KindVolume, Reason: reason})
			continue
		}
		p.Volumes = append(p.Volumes, v.ID)
	}
	for _, s := range in.Snapshots {
		reason := ""
		switch ami, backs := in.AMISnapshots[s.ID]; {
		case !s.Tagged:
			reason = ReasonNotTagged
		case backs:
			reason = ReasonBacksAMI + " (" + ami + ")"
		case s.State != string(types.SnapshotStateCompleted):
			reason = ReasonNotCompleted
		case s.VolumeID == "" || in.ExistingVolumes[s.VolumeID]:
			reason = ReasonSourceExists
		case !old(s):
			reason = ReasonTooYoung
		}
		if reason != "" {
			p.Skipped = append(p.Skipped, Skip{ID: s.ID, Kind: KindSnapshot, Reason: reason})
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
	VolumesDeleted   []string  `json:"volumesDeleted"`
	SnapshotsDeleted []string  `json:"snapshotsDeleted"`
	Skipped          []Skip    `json:"skipped"`
	Failed           []Failure `json:"failed"`
	// StoppedEarly is set when the invocation's deadline came before every
	// delete was tried; the next run continues.
	StoppedEarly bool `json:"stoppedEarly,omitempty"`
}

// Run lists the tagged resources, plans, and deletes (unless DryRun). If any
// listing fails, nothing is deleted and the error is returned.
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
		Skipped:           nonNil(plan.Skipped),
		Failed:            []Failure{},
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

	// Deletes stop a margin before the invocation's deadline, so the
	// summary is still returned; the next run picks up what is left.
	delCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		delCtx, cancel = context.WithDeadline(ctx, dl.Add(-deadlineMargin))
		defer cancel()
	}
	deleteAll := func(kind string, ids []string, done *[]string, call func(id string) error) bool {
		for _, id := range ids {
			if c.Limiter != nil && c.Limiter.Wait(delCtx) != nil || delCtx.Err() != nil {
				return false
			}
			if err := call(id); err != nil {
				log.WarnContext(ctx, "delete failed", "kind", kind, "id", id, "error", err.Error())
				sum.Failed = append(sum.Failed, Failure{ID: id, Kind: kind, Error: err.Error()})
				continue
			}
			log.InfoContext(ctx, "deleted", "kind", kind, "id", id)
			*done = append(*done, id)
		}
		return true
	}
	finished := deleteAll(KindVolume, plan.Volumes, &sum.VolumesDeleted, func(id string) error {
		_, err := c.EC2.DeleteVolume(delCtx, &ec2.DeleteVolumeInput{VolumeId: aws.String(id)})
		return err
	}) && deleteAll(KindSnapshot, plan.Snapshots, &sum.SnapshotsDeleted, func(id string) error {
		_, err := c.EC2.DeleteSnapshot(delCtx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)})
		return err
	})
	sum.StoppedEarly = !finished
	return sum, nil
}

// gather reads, with server-side filters and the largest pages, everything
// the plan rests on. Source volumes are checked in batches of IDs, and the
// AMIs' snapshots are read from the account's own images (disabled ones
// included), a handful of calls however many snapshots there are.
func (c *Cleaner) gather(ctx context.Context) (PlanInput, error) {
	in := PlanInput{Now: c.now(), MinAge: c.MinAge, ExistingVolumes: map[string]bool{}, AMISnapshots: map[string]string{}}

	vp := ec2.NewDescribeVolumesPaginator(c.EC2, &ec2.DescribeVolumesInput{
		Filters:    []types.Filter{c.DeleteTag.Filter(), filter("status", string(types.VolumeStateAvailable))},
		MaxResults: aws.Int32(volumePage),
	})
	for vp.HasMorePages() {
		page, err := vp.NextPage(ctx)
		if err != nil {
			return in, fmt.Errorf("list volumes tagged %s: %w", c.DeleteTag, err)
		}
		for _, v := range page.Volumes {
			in.Volumes = append(in.Volumes, Candidate{
				ID: aws.ToString(v.VolumeId), Created: aws.ToTime(v.CreateTime), State: string(v.State),
				Attached: len(v.Attachments) > 0, Tagged: c.DeleteTag.On(v.Tags),
			})
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
			vol := aws.ToString(s.VolumeId)
			in.Snapshots = append(in.Snapshots, Candidate{
				ID: aws.ToString(s.SnapshotId), Created: aws.ToTime(s.StartTime), State: string(s.State),
				VolumeID: vol, Tagged: c.SnapshotTag.On(s.Tags),
			})
			if vol != "" {
				sources[vol] = true
			}
		}
	}
	if len(in.Snapshots) == 0 {
		return in, nil
	}

	ids := make([]string, 0, len(sources))
	for id := range sources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for batch := range slices.Chunk(ids, filterBatch) {
		p := ec2.NewDescribeVolumesPaginator(c.EC2, &ec2.DescribeVolumesInput{
			Filters:    []types.Filter{filter("volume-id", batch...)},
			MaxResults: aws.Int32(volumePage),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return in, fmt.Errorf("check source volumes: %w", err)
			}
			for _, v := range page.Volumes {
				in.ExistingVolumes[aws.ToString(v.VolumeId)] = true
			}
		}
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
	return in, nil
}

func (c *Cleaner) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Cleaner) logger() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
