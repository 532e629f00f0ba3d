package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

// cover runs the coverage as its schedule does (events/…/coverage-scheduled.json).
func (f fixture) cover(t *testing.T) rootvolume.CoverageSummary {
	t.Helper()
	res, err := f.h.Handle(context.Background(), samples.Bytes(t, "snapshot-on-volume-create", "coverage-scheduled.json"))
	if err != nil || res.Outcome != rootvolume.SnapshotCoverage || res.Coverage == nil {
		t.Fatalf("Handle(coverage schedule) = %+v, %v, want a coverage summary", res, err)
	}
	return *res.Coverage
}

// optedInInstance starts an instance that carries the replacement opt-in
// tag, and returns it with its root volume. No createVolume event is sent.
func (f fixture) optedInInstance(t *testing.T, name string) (string, string) {
	t.Helper()
	inst := awstest.RunInstance(t, f.ec2, name)
	id := aws.ToString(inst.InstanceId)
	if _, err := f.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{id},
		Tags: []types.Tag{awstest.Tag("root-volume-replace", "enabled")}}); err != nil {
		t.Fatal(err)
	}
	root, _ := rootvolume.RootVolumeOf(inst)
	return id, root
}

func withCoverage(f fixture, c rootvolume.Coverage) fixture {
	c.OptInTag = rootvolume.DefaultOptInTag
	if c.Scope == "" {
		c.Scope = rootvolume.CoverageOptedIn
	}
	f.h.coverage = c
	return f
}

func TestCoverageSnapshotsAnOptedInRootOnce(t *testing.T) {
	f := withCoverage(newFixture(t, time.Second), rootvolume.Coverage{})
	inst, root := f.optedInInstance(t, "launched-before-the-suite")
	other := awstest.RunInstance(t, f.ec2, "not-opted-in")
	otherRoot, _ := rootvolume.RootVolumeOf(other)

	sum := f.cover(t)
	if len(sum.Snapshotted) != 1 || sum.Snapshotted[0].InstanceID != inst || sum.Snapshotted[0].VolumeID != root || sum.RootsWithoutRestorePoint != 0 {
		t.Fatalf("first coverage run = %+v, want one snapshot, of %s's root %s, and no root left without one", sum, inst, root)
	}
	snaps := awstest.SnapshotsOf(t, f.ec2, root)
	if len(snaps) != 1 || !rootvolume.IsSuiteSnapshotOf(snaps[0], root) || !rootvolume.DefaultSnapshotTag.On(snaps[0].Tags) ||
		aws.ToString(snaps[0].SnapshotId) != sum.Snapshotted[0].SnapshotID {
		t.Errorf("snapshots of %s = %+v, want the suite's one, tagged and marked as the event path makes it", root, snaps)
	}
	roots := replacetest.Items[rootvolume.RootObservation](t, f.db, table, rootvolume.KindRoot)
	if len(roots) != 1 || roots[0].VolumeID != root || roots[0].InstanceID != inst {
		t.Errorf("root records = %+v, want %s recorded as %s's root", roots, root, inst)
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, otherRoot)); n != 0 {
		t.Errorf("snapshots of the untagged instance's root = %d, want none under the default scope", n)
	}

	again := f.cover(t)
	if len(again.Snapshotted) != 0 || again.AlreadyCovered != 1 || len(awstest.SnapshotsOf(t, f.ec2, root)) != 1 {
		t.Errorf("second coverage run = %+v, want no snapshot (the root is covered)", again)
	}

	// COVERAGE_SCOPE=all looks after every running instance.
	f = withCoverage(f, rootvolume.Coverage{Scope: rootvolume.CoverageAll})
	if all := f.cover(t); len(all.Snapshotted) != 1 || all.Snapshotted[0].VolumeID != otherRoot {
		t.Errorf("coverage run, scope all = %+v, want the untagged instance's root %s snapshotted", all, otherRoot)
	}
}

// failSnapshots fails every CreateSnapshot, as an exhausted snapshot quota
// or a throttled account does.
type failSnapshots struct{ *ec2.Client }

func (failSnapshots) CreateSnapshot(context.Context, *ec2.CreateSnapshotInput, ...func(*ec2.Options)) (*ec2.CreateSnapshotOutput, error) {
	return nil, errors.New("injected: SnapshotLimitExceeded")
}

func TestUncoveredRootIsReportedAndToldOnce(t *testing.T) {
	f := newFixture(t, time.Second)
	// The ops topic, told through SNS as the function's role.
	snsc := sns.NewFromConfig(f.admin)
	topicARN := approvaltest.CreateTopic(t, snsc, opsTopic)
	inbox := approvaltest.NewInbox(t, snsc, sqs.NewFromConfig(f.admin), topicARN)
	ops := &notify.Notifier{SNS: sns.NewFromConfig(f.fnCfg), TopicARN: topicARN, Log: f.h.log}
	var told atomic.Int32
	f = withCoverage(f, rootvolume.Coverage{Tell: func(ctx context.Context, subject, body string) error {
		told.Add(1)
		return ops.Send(ctx, notify.Message{Subject: subject, Body: body})
	}})
	f.h.snapshotter.EC2 = failSnapshots{f.h.snapshotter.EC2.(*ec2.Client)}
	inst, root := f.optedInInstance(t, "quota-exhausted")
	var out bytes.Buffer
	f.h.metrics = metrics.New("snapshot-fn", &out)

	for run := 1; run <= 2; run++ {
		out.Reset()
		sum := f.cover(t)
		emf.Want(t, out.Bytes(), "snapshot-fn", map[string]float64{"RootsWithoutRestorePoint": 1})
		if len(sum.Uncovered) != 1 || sum.Uncovered[0].InstanceID != inst || sum.Uncovered[0].VolumeID != root || sum.RootsWithoutRestorePoint != 1 {
			t.Errorf("run %d = %+v, want %s's root %s reported without a restore point", run, sum, inst, root)
		}
		if got := sum.Uncovered[0].Told; got != (run == 1) {
			t.Errorf("run %d: told = %v, want %v (told once)", run, got, run == 1)
		}
	}
	if n := told.Load(); n != 1 {
		t.Errorf("operators told %d times over two runs, want once", n)
	}
	if msgs := inbox.Receive(t); len(msgs) != 1 || !strings.Contains(msgs[0].Body, root) {
		t.Errorf("ops topic received %+v, want one message naming %s", msgs, root)
	}
}

func TestScheduledEventFromElsewhereStartsNoCoverage(t *testing.T) {
	f := withCoverage(newFixture(t, time.Second), rootvolume.Coverage{})
	_, root := f.optedInInstance(t, "opted-in")
	res, err := f.h.Handle(context.Background(), []byte(`{"detail-type":"Scheduled Event","source":"custom.events","detail":{}}`))
	if err != nil || res.Outcome != rootvolume.SnapshotRejected || res.Coverage != nil {
		t.Errorf("Handle(forged schedule) = %+v, %v, want rejected, no coverage run", res, err)
	}
	if n := len(awstest.SnapshotsOf(t, f.ec2, root)); n != 0 {
		t.Errorf("snapshots of %s = %d, want none", root, n)
	}
}
