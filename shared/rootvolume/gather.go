package rootvolume

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/ec2tag"
)

// gather reads, with server-side filters and the largest pages, everything
// the plan rests on: the records, EC2's tasks, the volumes they name and the
// labelled ones, the instances' root volumes, the tagged snapshots, their
// sources, the account's AMIs (disabled ones included) and the Recycle Bin.
func (c *Cleaner) gather(ctx context.Context) (PlanInput, error) {
	in := PlanInput{
		Now: c.now(), MinAge: c.MinAge, RetainReplaced: c.RetainReplaced, RetainOrphaned: c.RetainOrphaned, AdoptExternal: c.AdoptExternal,
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
			f := taskFacts(t)
			in.Tasks[f.ID] = f
		}
	}

	// The root records that may pin an external task's old root are
	// checked first: only a trusted one can name it.
	if err := c.verifyRoots(ctx, &in); err != nil {
		return in, err
	}
	for id, n := range in.Records.Notices {
		if err := c.Store.CheckNotice(ctx, &n); err != nil {
			return in, fmt.Errorf("verify notice %s: %w", n.ID, err)
		}
		in.Records.Notices[id] = n
	}
	// The volumes to look at: named by a record, the old root of a task
	// the suite did not start, or carrying the label.
	named := map[string]bool{}
	for _, r := range in.Records.Replacements {
		named[r.ReplacedVolumeID] = true
	}
	for _, t := range in.Tasks {
		if old, doubt, _ := PinnedRoot(in.Records.Roots, in.Tasks, t); old != "" || doubt != "" {
			named[old+doubt] = true
		}
	}
	addVolume := func(v types.Volume) {
		in.Volumes[aws.ToString(v.VolumeId)] = VolumeFacts{
			ID: aws.ToString(v.VolumeId), State: string(v.State), Attached: len(v.Attachments) > 0,
			Labelled: c.DeleteTag.On(v.Tags), Keep: c.KeepTag.On(v.Tags),
			Type: string(v.VolumeType), SizeGiB: aws.ToInt32(v.Size),
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
	if err := c.verifyVolumeRecords(ctx, &in); err != nil {
		return in, err
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
				BackupSource: ec2tag.Value(s.Tags, BackupSourceTag), VolumeSizeGiB: aws.ToInt32(s.VolumeSize),
			})
			if vol != "" {
				sources[vol] = true
			}
		}
	}
	if len(in.Snapshots) == 0 {
		return in, nil
	}
	if err := c.verifyOrphans(ctx, &in); err != nil {
		return in, err
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

	in.Locks, in.LocksUnread = c.locks(ctx)

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

// locks lists the account's snapshots locked against deletion
// (DescribeLockedSnapshots, filtered on the server to the lock states that
// refuse a delete; the SDK has no paginator for it). A failed read is
// returned as why, and then every snapshot is kept: a lock cannot be ruled
// out.
func (c *Cleaner) locks(ctx context.Context) (map[string]SnapshotLock, string) {
	locks := map[string]SnapshotLock{}
	in := &ec2.DescribeLockedSnapshotsInput{
		Filters: []types.Filter{filter("lock-state", string(types.LockStateCompliance),
			string(types.LockStateComplianceCooloff), string(types.LockStateGovernance))},
		MaxResults: aws.Int32(lockPage),
	}
	for {
		out, err := c.EC2.DescribeLockedSnapshots(ctx, in)
		if err != nil {
			return nil, err.Error()
		}
		for _, l := range out.Snapshots {
			locks[aws.ToString(l.SnapshotId)] = SnapshotLock{State: string(l.LockState), Expires: aws.ToTime(l.LockExpiresOn)}
		}
		if aws.ToString(out.NextToken) == "" {
			return locks, ""
		}
		in.NextToken = out.NextToken
	}
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

// verifyRoots checks the MACs of the root records of instances that have
// a succeeded task: the records that may pin the volume a task the suite
// did not start replaced (which tasks those are is known only once the
// replacement records are checked). A KMS failure stops the run.
func (c *Cleaner) verifyRoots(ctx context.Context, in *PlanInput) error {
	external := map[string]bool{}
	for _, t := range in.Tasks {
		if taskOutcome(t.State) == StateSucceeded {
			external[t.InstanceID] = true
		}
	}
	for i := range in.Records.Roots {
		if o := &in.Records.Roots[i]; external[o.InstanceID] {
			if err := c.Store.CheckRoot(ctx, o); err != nil {
				return fmt.Errorf("verify root record %s: %w", o.ID, err)
			}
		}
	}
	return nil
}

// verifyVolumeRecords checks the MACs of the replacement records that may
// decide something (their volume exists, or their state is not final, so
// the run may write it) and of the rollback records of existing volumes.
// A record whose volume is gone and whose state is final is left
// unchecked: it decides nothing, and a table holds 400 days of them.
func (c *Cleaner) verifyVolumeRecords(ctx context.Context, in *PlanInput) error {
	for i := range in.Records.Replacements {
		r := &in.Records.Replacements[i]
		_, exists := in.Volumes[r.ReplacedVolumeID]
		final := r.State == StateSucceeded || r.State == StateFailed || r.State == StateRefused
		if !exists && final {
			continue
		}
		if err := c.Store.CheckReplacement(ctx, r); err != nil {
			return fmt.Errorf("verify replacement record %s: %w", r.ID, err)
		}
	}
	for i := range in.Records.Rollbacks {
		if r := &in.Records.Rollbacks[i]; in.Volumes[r.VolumeID].ID != "" {
			if err := c.Store.CheckRollback(ctx, r); err != nil {
				return fmt.Errorf("verify rollback record %s: %w", r.ID, err)
			}
		}
	}
	return nil
}

// verifyOrphans checks the MACs of the orphan records of listed snapshots.
func (c *Cleaner) verifyOrphans(ctx context.Context, in *PlanInput) error {
	listed := map[string]bool{}
	for _, s := range in.Snapshots {
		listed[s.ID] = true
	}
	for i := range in.Records.Orphans {
		if o := &in.Records.Orphans[i]; listed[o.SnapshotID] {
			if err := c.Store.CheckOrphan(ctx, o); err != nil {
				return fmt.Errorf("verify orphan record %s: %w", o.ID, err)
			}
		}
	}
	return nil
}
