package rootvolume

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"golang.org/x/time/rate"
)

// Coverage scopes (COVERAGE_SCOPE): the instances the coverage run looks at.
const (
	CoverageOptedIn = "opted-in" // running instances carrying REPLACE_OPT_IN_TAG
	CoverageAll     = "all"      // every running instance
)

// Coverage is what the coverage run needs beyond the Snapshotter's own.
type Coverage struct {
	// Scope is CoverageOptedIn or CoverageAll.
	Scope    string
	OptInTag Tag
	// Limiter paces the snapshots; nil means no pacing (tests).
	Limiter *rate.Limiter
	// Tell, when set, tells operators of a root left without a restore
	// point; it is called once per root (Store.ClaimNotice).
	Tell func(ctx context.Context, subject, body string) error
}

// Covered is a root the run snapshotted.
type Covered struct {
	InstanceID string `json:"instanceId"`
	VolumeID   string `json:"volumeId"`
	SnapshotID string `json:"snapshotId"`
}

// Uncovered is a root left without a restore point, and why.
type Uncovered struct {
	InstanceID string `json:"instanceId"`
	VolumeID   string `json:"volumeId"`
	Error      string `json:"error"`
	Told       bool   `json:"told,omitempty"`
}

// CoverageSummary is what a coverage run returns and logs.
type CoverageSummary struct {
	Scope     string `json:"scope"`
	Instances int    `json:"instances"`
	// AlreadyCovered counts the roots that had a suite snapshot (pending
	// or completed) before the run.
	AlreadyCovered int         `json:"alreadyCovered"`
	Snapshotted    []Covered   `json:"snapshotted"`
	Uncovered      []Uncovered `json:"uncovered"`
	// NotReached are the roots the deadline left for the next run.
	NotReached []string `json:"notReached"`
	// RootsWithoutRestorePoint is what the run leaves without one: the
	// uncovered and the not reached.
	RootsWithoutRestorePoint int  `json:"rootsWithoutRestorePoint"`
	StoppedEarly             bool `json:"stoppedEarly,omitempty"`
}

// Cover is the safety net under the createVolume path: it finds the
// running instances in scope (filtered on the server, paged) whose current
// root volume has no pending or completed suite snapshot (tag, marker and
// VolumeId checked, as the cleanup and the restore check them), and
// snapshots each as the event path does: the root recorded, the suite's
// tags and marker. A root that already has one is left alone, so a second
// run makes none. A snapshot that fails leaves the root uncovered: it is
// reported, and told once. Work stops a margin before the deadline; the
// next run carries on.
func (s *Snapshotter) Cover(ctx context.Context, c Coverage) (CoverageSummary, error) {
	sum := CoverageSummary{Scope: c.Scope, Snapshotted: []Covered{}, Uncovered: []Uncovered{}, NotReached: []string{}}
	filters := []types.Filter{filter("instance-state-name", string(types.InstanceStateNameRunning))}
	if c.Scope != CoverageAll {
		filters = append(filters, c.OptInTag.Filter())
	}
	roots := map[string]types.Instance{} // root volume → instance
	p := ec2.NewDescribeInstancesPaginator(s.EC2, &ec2.DescribeInstancesInput{Filters: filters, MaxResults: aws.Int32(instancePage)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return sum, fmt.Errorf("list running instances: %w", err)
		}
		for _, r := range page.Reservations {
			for _, inst := range r.Instances {
				// The filters are the server's claim: checked again.
				if inst.State == nil || inst.State.Name != types.InstanceStateNameRunning || c.Scope != CoverageAll && !c.OptInTag.On(inst.Tags) {
					continue
				}
				sum.Instances++
				if root, err := RootVolumeOf(inst); err == nil {
					roots[root] = inst
				}
			}
		}
	}
	ids := slices.Sorted(maps.Keys(roots))
	covered, err := s.covered(ctx, ids)
	if err != nil {
		return sum, err
	}
	sum.AlreadyCovered = len(covered)

	run := deadline.Start(ctx)
	defer run.Stop()
	work := run.Work()
	for i, root := range ids {
		if covered[root] {
			continue
		}
		if c.Limiter != nil && c.Limiter.Wait(work) != nil || work.Err() != nil {
			for _, rest := range ids[i:] {
				if !covered[rest] {
					sum.NotReached = append(sum.NotReached, rest)
				}
			}
			sum.StoppedEarly = true
			break
		}
		inst := roots[root]
		id, device := aws.ToString(inst.InstanceId), aws.ToString(inst.RootDeviceName)
		snap, err := s.snapshotRoot(work, id, root, device)
		if err != nil {
			sum.Uncovered = append(sum.Uncovered, Uncovered{InstanceID: id, VolumeID: root, Error: err.Error()})
			continue
		}
		sum.Snapshotted = append(sum.Snapshotted, Covered{InstanceID: id, VolumeID: root, SnapshotID: snap})
	}
	sum.RootsWithoutRestorePoint = len(sum.Uncovered) + len(sum.NotReached)
	finish, cancelFinish := run.Finish()
	defer cancelFinish()
	for i := range sum.Uncovered {
		sum.Uncovered[i].Told = s.tellUncovered(finish, c, sum.Uncovered[i])
	}
	return sum, nil
}

// covered returns the roots among ids that have a pending or completed
// suite snapshot, 200 volume IDs a call.
func (s *Snapshotter) covered(ctx context.Context, ids []string) (map[string]bool, error) {
	covered := map[string]bool{}
	for batch := range slices.Chunk(ids, filterBatch) {
		p := ec2.NewDescribeSnapshotsPaginator(s.EC2, &ec2.DescribeSnapshotsInput{
			OwnerIds:   []string{"self"},
			Filters:    []types.Filter{filter("volume-id", batch...), s.Tag.Filter(), filter("status", "pending", "completed")},
			MaxResults: aws.Int32(snapshotPage),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list suite snapshots of the roots: %w", err)
			}
			for _, snap := range page.Snapshots {
				vol := aws.ToString(snap.VolumeId)
				if s.restorePoint(snap, vol) {
					covered[vol] = true
				}
			}
		}
	}
	return covered, nil
}

// snapshotRoot records the root and snapshots it, as the event path does.
func (s *Snapshotter) snapshotRoot(ctx context.Context, instanceID, root, device string) (string, error) {
	vol, err := s.describeRoot(ctx, instanceID, root)
	if err != nil {
		return "", err
	}
	if err := s.recordRoot(ctx, vol, instanceID, device); err != nil {
		return "", err
	}
	return s.createSnapshot(ctx, root, instanceID, device)
}

// uncoveredReason is the notice's reason for a root told uncovered.
const uncoveredReason = "root without a restore point"

// tellUncovered tells operators of a root left uncovered, once: only the
// run that claims the root's notice tells. A failed claim or tell is
// logged; the next run that finds the root uncovered tries again.
func (s *Snapshotter) tellUncovered(ctx context.Context, c Coverage, u Uncovered) bool {
	if c.Tell == nil || s.Store == nil {
		return false
	}
	log := s.logger()
	first, err := s.Store.ClaimNotice(ctx, Notice{ResourceID: "uncovered:" + u.VolumeID, Reason: uncoveredReason, ToldAt: s.now().UTC()})
	if err != nil {
		log.WarnContext(ctx, "uncovered root not told: its notice could not be recorded", "volumeId", u.VolumeID, "error", err.Error())
		return false
	}
	if !first {
		return false
	}
	body := fmt.Sprintf("The root volume %s of instance %s has no restore point: the coverage run could not snapshot it (%s).\n\n"+
		"replace-root-volume's latest-snapshot cannot reset this instance until it has one. Send a \"Snapshot Root Volume Requested\" "+
		"event for it once the cause is fixed, or wait for the next coverage run (README, \"Coverage\").\n", u.VolumeID, u.InstanceID, u.Error)
	if err := c.Tell(ctx, "Root volume without a restore point: "+u.InstanceID, body); err != nil {
		log.WarnContext(ctx, "uncovered root not told", "volumeId", u.VolumeID, "error", err.Error())
		return false
	}
	return true
}
