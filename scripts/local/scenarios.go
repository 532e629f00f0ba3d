package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/ebs-ops/lambda-suite/shared/ec2tag"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// scenario is one capability's part of the run: the functions it needs
// built, and what it does with them. A capability adds one to scenarios.
type scenario struct {
	name      string // for -only
	about     string
	functions []string // under functions/
	run       func(context.Context, *runner) error
}

var scenarios = []scenario{
	{
		name:      "snapshot-on-volume-create",
		about:     "a new root volume is snapshotted once, and on a \"snapshot now\" event; other volumes and events are left alone; the coverage run snapshots the opted-in roots no event covered, once",
		functions: []string{"snapshot-on-volume-create"},
		run:       snapshotOnVolumeCreate,
	},
	{
		name:      "replace-root-volume",
		about:     "an opted-in instance's root volume is restored from its latest snapshot, or to its launch state; others are refused",
		functions: []string{"replace-root-volume"},
		run:       replaceRootVolume,
	},
	{
		name:      "root-volume-cleanup",
		about:     "only what the suite provably replaced goes, after the rollback window; failed replacements and forged tags are kept",
		functions: []string{"replace-root-volume", "root-volume-cleanup"},
		run:       rootVolumeCleanup,
	},
	rootVolumeTrustScenario,
	healthGateScenario,
	stageRetryScenario,
	amiApprovalScenario,
	diskAlarmScenario,
}

func snapshotOnVolumeCreate(ctx context.Context, r *runner) error {
	key, err := r.recordKeyEnv(ctx)
	if err != nil {
		return err
	}
	f, err := r.start("snapshot-on-volume-create", "SNAPSHOT_TAG="+snapshotTag, "ATTACH_WAIT=2s", "REPLACEMENTS_TABLE="+replacementsTable, key)
	if err != nil {
		return err
	}
	defer f.Close()
	available, err := r.event("snapshot-on-volume-create", "create-volume-available.json")
	if err != nil {
		return err
	}
	web1 := r.acct.web1
	rootEvent, err := withResource(available, volumeARN(web1.RootVolume))
	if err != nil {
		return err
	}

	r.step("web-1's root volume was created (create-volume-available.json, resources[0] → %s)", web1.RootVolume)
	inv, err := r.invoke(ctx, f, rootEvent)
	if err != nil {
		return err
	}
	n := len(inv.taggedSnapshots(web1.RootVolume, snapshotTagKey, snapshotTagValue))
	r.check(n == 1, "web-1's root volume has 1 snapshot tagged %s (found %d)", snapshotTag, n)

	r.step("the same event, delivered again")
	if inv, err = r.invoke(ctx, f, rootEvent); err != nil {
		return err
	}
	n = len(inv.taggedSnapshots(web1.RootVolume, snapshotTagKey, snapshotTagValue))
	r.check(n == 1, "still 1 snapshot of web-1's root volume (found %d)", n)

	dataEvent, err := withResource(available, volumeARN(r.acct.dataVolume))
	if err != nil {
		return err
	}
	r.step("web-1's data volume was created (resources[0] → %s, at /dev/sdf)", r.acct.dataVolume)
	if inv, err = r.invoke(ctx, f, dataEvent); err != nil {
		return err
	}
	n = len(inv.taggedSnapshots(r.acct.dataVolume, snapshotTagKey, snapshotTagValue))
	r.check(n == 0, "no snapshot of the data volume (found %d)", n)

	for _, file := range []string{"create-volume-failed.json", "not-a-volume.json"} {
		ev, err := r.event("snapshot-on-volume-create", file)
		if err != nil {
			return err
		}
		r.step("a sample event as it is (%s)", file)
		before := len(inv.taggedSnapshots("", snapshotTagKey, snapshotTagValue))
		if inv, err = r.invoke(ctx, f, ev); err != nil {
			return err
		}
		after := len(inv.taggedSnapshots("", snapshotTagKey, snapshotTagValue))
		r.check(after == before, "no snapshot made (%d tagged before, %d after)", before, after)
	}

	web2 := r.acct.web2
	now, err := r.event("snapshot-on-volume-create", "snapshot-now.json")
	if err != nil {
		return err
	}
	if now, err = withInstance(now, web2.ID); err != nil {
		return err
	}
	r.step("\"snapshot now\" for web-2, on the suite's bus (snapshot-now.json, detail.instanceId → %s)", web2.ID)
	before := len(inv.markedSnapshots(web2.RootVolume))
	if inv, err = r.invoke(ctx, f, now); err != nil {
		return err
	}
	n = len(inv.markedSnapshots(web2.RootVolume))
	r.check(n == before+1, "web-2's root volume has one more snapshot with the suite's marker (%d → %d)", before, n)
	r.step("the same event, delivered again")
	if inv, err = r.invoke(ctx, f, now); err != nil {
		return err
	}
	after := len(inv.markedSnapshots(web2.RootVolume))
	r.check(after == n, "still %d: no second snapshot within the window (found %d)", n, after)
	return coverage(ctx, r, f)
}

// coverage runs the coverage schedule twice: app-1 and app-2 opt in but no
// createVolume event ever named their roots, so the first run snapshots
// each once; the second finds them covered; db-1, not opted in, is left
// alone (COVERAGE_SCOPE's default).
func coverage(ctx context.Context, r *runner, f *runtimeapi.Function) error {
	ev, err := r.event("snapshot-on-volume-create", "coverage-scheduled.json")
	if err != nil {
		return err
	}
	app1, app2, db1 := r.acct.app1, r.acct.app2, r.acct.db1
	r.step("the coverage schedule (coverage-scheduled.json): app-1 and app-2 opt in, and no event ever covered their roots")
	inv, res, err := r.invokeResult(ctx, f, ev)
	if err != nil {
		return err
	}
	var out rootvolume.SnapshotResult
	if err := json.Unmarshal(res.Payload, &out); err != nil || out.Coverage == nil {
		return fmt.Errorf("coverage answer %s: %v", res.Payload, err)
	}
	n1, n2, nDB := len(inv.markedSnapshots(app1.RootVolume)), len(inv.markedSnapshots(app2.RootVolume)), len(inv.markedSnapshots(db1.RootVolume))
	r.check(n1 == 1 && n2 == 1 && len(out.Coverage.Snapshotted) == 2 && out.Coverage.RootsWithoutRestorePoint == 0,
		"uncovered roots snapshotted: app-1 %s has %d, app-2 %s has %d suite snapshot(s); %d already covered; roots without a restore point: %d",
		app1.RootVolume, n1, app2.RootVolume, n2, out.Coverage.AlreadyCovered, out.Coverage.RootsWithoutRestorePoint)
	r.check(nDB == 0, "db-1 %s, not opted in, is left alone (%d snapshots)", db1.ID, nDB)
	r.step("the next coverage run")
	if inv, res, err = r.invokeResult(ctx, f, ev); err != nil {
		return err
	}
	out = rootvolume.SnapshotResult{}
	if err := json.Unmarshal(res.Payload, &out); err != nil || out.Coverage == nil {
		return fmt.Errorf("coverage answer %s: %v", res.Payload, err)
	}
	r.check(len(out.Coverage.Snapshotted) == 0 && len(inv.markedSnapshots(app1.RootVolume)) == 1,
		"no snapshot made: every root in scope has a restore point (%d covered)", out.Coverage.AlreadyCovered)
	return nil
}

// recordKeyEnv is PROOF_KEY_ARN: the stack's record key, an HMAC_256 key
// made in moto the first time a root-volume function starts. The IAM layer
// evaluates its key policy as infra/sam writes it.
func (r *runner) recordKeyEnv(ctx context.Context) (string, error) {
	if r.acct.recordKey == "" {
		key, err := awstest.MakeHMACKey(ctx, kms.NewFromConfig(r.cfg))
		if err != nil {
			return "", fmt.Errorf("make the record key: %w", err)
		}
		r.acct.recordKey = key
	}
	return "PROOF_KEY_ARN=" + r.acct.recordKey, nil
}

// startReplace starts replace-root-volume against the stand-in.
func (r *runner) startReplace(ctx context.Context) (*runtimeapi.Function, error) {
	key, err := r.recordKeyEnv(ctx)
	if err != nil {
		return nil, err
	}
	return r.start("replace-root-volume",
		"SNAPSHOT_TAG="+snapshotTag, "DELETE_VOLUME_TAG="+deleteTag, "REPLACEMENTS_TABLE="+replacementsTable, key,
		"AWS_ENDPOINT_URL="+r.standIn.URL, "AWS_MAX_ATTEMPTS=1")
}

// request is a sample replace request for the instance.
func (r *runner) request(file, instanceID string) ([]byte, error) {
	ev, err := r.event("replace-root-volume", file)
	if err != nil {
		return nil, err
	}
	return withInstance(ev, instanceID)
}

func replaceRootVolume(ctx context.Context, r *runner) error {
	r.note("moto has no CreateReplaceRootVolumeTask: this function's endpoint is a stand-in in front")
	r.note("of moto that answers it with the tests' task fake (replacetest), as EC2 completes such a")
	r.note("task (a volume from the snapshot, or the AMI's, takes the root device; the old one stays,")
	r.note("detached, unless deleteReplacedVolume), and passes every other call to moto.")
	r.note("The real call is exercised only in AWS.")
	f, err := r.startReplace(ctx)
	if err != nil {
		return err
	}
	defer f.Close()

	db1 := r.acct.db1
	ev, err := r.request("launch-state.json", db1.ID)
	if err != nil {
		return err
	}
	r.step("db-1 does not carry %s=%s (launch-state.json, instanceId → %s)", optInKey, optInValue, db1.ID)
	before, err := readInventory(ctx, r.ec2)
	if err != nil {
		return err
	}
	inv, res, err := r.invokeResult(ctx, f, ev)
	if err != nil {
		return err
	}
	r.check(res.FunctionError != nil && len(diff(before.state(), inv.state())) == 0,
		"refused, and nothing changed")

	web2 := r.acct.web2
	if ev, err = r.request("eventbridge-request.json", web2.ID); err != nil {
		return err
	}
	r.step("restore web-2 from its latest snapshot (eventbridge-request.json, detail.instanceId → %s)", web2.ID)
	// The newest completed tagged snapshot of its root: the seeded one, or
	// the "snapshot now" one if that scenario ran first.
	latest := slices.MaxFunc(inv.taggedSnapshots(web2.RootVolume, snapshotTagKey, snapshotTagValue), func(a, b types.Snapshot) int {
		return cmp.Or(aws.ToTime(a.StartTime).Compare(aws.ToTime(b.StartTime)), strings.Compare(aws.ToString(a.SnapshotId), aws.ToString(b.SnapshotId)))
	})
	if inv, err = r.invoke(ctx, f, ev); err != nil {
		return err
	}
	old := inv.volume(web2.RootVolume)
	r.check(old != nil && len(old.Attachments) == 0 && ec2tag.Value(old.Tags, deleteTagKey) == deleteTagValue,
		"web-2's old root volume %s is kept, detached and labelled %s", web2.RootVolume, deleteTag)
	root := inv.volume(inv.rootVolume(web2.ID))
	r.check(root != nil && aws.ToString(root.SnapshotId) == aws.ToString(latest.SnapshotId),
		"web-2's root volume is now %s, restored from %s", inv.rootVolume(web2.ID), aws.ToString(latest.SnapshotId))

	web1 := r.acct.web1
	if ev, err = r.request("launch-state.json", web1.ID); err != nil {
		return err
	}
	r.step("restore web-1 to its launch state, deleteReplacedVolume: true (launch-state.json, instanceId → %s)", web1.ID)
	if inv, err = r.invoke(ctx, f, ev); err != nil {
		return err
	}
	newRoot := inv.rootVolume(web1.ID)
	kept := inv.volume(web1.RootVolume)
	r.check(newRoot != "" && newRoot != web1.RootVolume && kept != nil && ec2tag.Value(kept.Tags, deleteTagKey) == deleteTagValue,
		"web-1's root volume is now %s; the old one, %s, is kept and labelled: deleteReplacedVolume means after the rollback window, through the cleanup",
		newRoot, web1.RootVolume)
	return nil
}

// cleanupSummary is the part of root-volume-cleanup's answer the checks read.
type cleanupSummary struct {
	VolumesDeleted   []string                `json:"volumesDeleted"`
	SnapshotsDeleted []string                `json:"snapshotsDeleted"`
	Reclaim          rootvolume.Reclaim      `json:"reclaim"`
	Restorable       []rootvolume.Restorable `json:"restorable"`
	Skipped          []struct {
		ID, Reason string
	} `json:"skipped"`
}

func (s cleanupSummary) reason(id string) string {
	for _, k := range s.Skipped {
		if k.ID == id {
			return k.Reason
		}
	}
	return ""
}

func rootVolumeCleanup(ctx context.Context, r *runner) error {
	const window = 6 * time.Second
	ev, err := r.event("root-volume-cleanup", "scheduled.json")
	if err != nil {
		return err
	}
	key, err := r.recordKeyEnv(ctx)
	if err != nil {
		return err
	}
	env := []string{"SNAPSHOT_TAG=" + snapshotTag, "DELETE_VOLUME_TAG=" + deleteTag, "MIN_AGE=0s",
		"RETAIN_REPLACED=" + window.String(), "RETAIN_ORPHANED=0s", "REPLACEMENTS_TABLE=" + replacementsTable, key,
		// The stack's Recycle Bin rule keeps deleted snapshots 7 days.
		"RECYCLE_BIN_DAYS=7",
		// moto lacks DescribeReplaceRootVolumeTasks and ListImagesInRecycleBin.
		"AWS_ENDPOINT_URL=" + r.standIn.URL}

	replace, err := r.startReplace(ctx)
	if err != nil {
		return err
	}
	defer replace.Close()
	app1, app2 := r.acct.app1, r.acct.app2
	r.step("replace app-1's root volume: the task succeeds (launch-state.json, instanceId → %s)", app1.ID)
	req, err := r.request("launch-state.json", app1.ID)
	if err != nil {
		return err
	}
	// The sample asks EC2 to delete the old root; here it is kept, to show
	// the rollback window.
	if req, err = withField(req, "deleteReplacedVolume", false); err != nil {
		return err
	}
	if _, err = r.invoke(ctx, replace, req); err != nil {
		return err
	}
	r.step("replace app-2's root volume: EC2 accepts the task, which then fails (the stand-in is told to fail it)")
	r.standIn.Tasks.Fail(app2.ID)
	if req, err = r.request("launch-state.json", app2.ID); err != nil {
		return err
	}
	if _, err = r.invoke(ctx, replace, req); err != nil {
		return err
	}

	r.step("dry run: the plan, nothing changed (scheduled.json)")
	before, err := readInventory(ctx, r.ec2)
	if err != nil {
		return err
	}
	dry, err := r.start("root-volume-cleanup", append(env, "DRY_RUN=true")...)
	if err != nil {
		return err
	}
	inv, err := r.invoke(ctx, dry, ev)
	dry.Close()
	if err != nil {
		return err
	}
	changes := diff(before.state(), inv.state())
	r.check(len(changes) == 0, "nothing changed (%d changes)", len(changes))

	f, err := r.start("root-volume-cleanup", append(env, "DRY_RUN=false")...)
	if err != nil {
		return err
	}
	defer f.Close()
	run := func() (*inventory, cleanupSummary, error) {
		inv, res, err := r.invokeResult(ctx, f, ev)
		var sum cleanupSummary
		if err == nil {
			err = json.Unmarshal(res.Payload, &sum)
		}
		return inv, sum, err
	}

	r.step("the real run, inside the rollback window (RETAIN_REPLACED=%s)", window)
	inv, sum, err := run()
	if err != nil {
		return err
	}
	old1 := inv.volume(app1.RootVolume)
	r.check(old1 != nil && len(old1.Attachments) == 0 && strings.HasPrefix(sum.reason(app1.RootVolume), "inside the rollback window"),
		"app-1's old root %s is kept, detached: %q", app1.RootVolume, sum.reason(app1.RootVolume))
	root2 := inv.volume(app2.RootVolume)
	r.check(root2 != nil && inv.rootVolume(app2.ID) == app2.RootVolume && ec2tag.Value(root2.Tags, deleteTagKey) == "",
		"app-2's failed replacement left its root %s in place, and the label is taken off", app2.RootVolume)
	r.check(inv.volume(r.acct.replacedRoot) != nil, "volume %s with a %s tag but no record is kept: %q",
		r.acct.replacedRoot, deleteTag, sum.reason(r.acct.replacedRoot))
	r.check(inv.snapshot(r.acct.orphanSnapshot) != nil, "snapshot %s with a %s tag but no marker is kept: %q",
		r.acct.orphanSnapshot, snapshotTag, sum.reason(r.acct.orphanSnapshot))
	r.check(inv.snapshot(r.acct.amiSnapshot) != nil, "snapshot %s backing %s is kept", r.acct.amiSnapshot, r.acct.ami)
	r.check(inv.volume(r.acct.taggedAttached) != nil, "attached tagged volume %s is kept", r.acct.taggedAttached)
	r.check(inv.snapshot(r.acct.untaggedSnapshot) != nil, "untagged snapshot %s is kept", r.acct.untaggedSnapshot)
	for _, id := range sum.SnapshotsDeleted {
		var desc, of string
		if s := before.snapshot(id); s != nil {
			desc, of = aws.ToString(s.Description), aws.ToString(s.VolumeId)
		}
		vol, marked := rootvolume.MarkedVolume(desc)
		r.check(marked && vol == of && before.volume(vol) == nil,
			"snapshot %s deleted: the suite's marker names %s, which is gone", id, vol)
	}

	r.step("someone detaches app-2's root for a rescue, and tags it %s", deleteTag)
	if err := r.detach(ctx, app2); err != nil {
		return err
	}
	r.step("wait out the rollback window (%s); a dry run, then the next run", window)
	time.Sleep(window)
	dry, err = r.start("root-volume-cleanup", append(env, "DRY_RUN=true")...)
	if err != nil {
		return err
	}
	_, dryRes, err := r.invokeResult(ctx, dry, ev)
	dry.Close()
	var drySum cleanupSummary
	if err == nil {
		err = json.Unmarshal(dryRes.Payload, &drySum)
	}
	if err != nil {
		return err
	}
	if inv, sum, err = run(); err != nil {
		return err
	}
	r.check(sum.Reclaim.TotalGiB() > 0 && sum.Reclaim.TotalGiB() == drySum.Reclaim.TotalGiB() &&
		sum.Reclaim.EstimatedMonthlySavingUSD == drySum.Reclaim.EstimatedMonthlySavingUSD,
		"the dry run and the run report the same: %s", sum.Reclaim.Line(false))
	for _, rs := range sum.Restorable {
		r.check(rs.Until.After(time.Now()), "undo window: %s", rs.Text())
	}
	r.check(len(sum.Restorable) == len(sum.VolumesDeleted)+len(sum.SnapshotsDeleted),
		"every deleted resource can be restored from the Recycle Bin until its date (%d of %d)",
		len(sum.Restorable), len(sum.VolumesDeleted)+len(sum.SnapshotsDeleted))
	r.check(inv.volume(app1.RootVolume) == nil && slices.Contains(sum.VolumesDeleted, app1.RootVolume),
		"app-1's old root %s is deleted after the window", app1.RootVolume)
	r.check(inv.volume(app2.RootVolume) != nil, "app-2's root %s, detached and tagged, is still kept: %q",
		app2.RootVolume, sum.reason(app2.RootVolume))
	r.check(inv.volume(r.acct.replacedRoot) != nil, "the forged-tag volume %s is still kept", r.acct.replacedRoot)
	return nil
}

// detach takes the instance's root volume off it and tags it for deletion,
// as a rescue job would (and as anyone could).
func (r *runner) detach(ctx context.Context, in instance) error {
	if _, err := r.ec2.DetachVolume(ctx, &ec2.DetachVolumeInput{
		VolumeId: aws.String(in.RootVolume), InstanceId: aws.String(in.ID), Device: aws.String(in.RootDevice)}); err != nil {
		return err
	}
	_, err := r.ec2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{in.RootVolume}, Tags: ec2Tags([]string{deleteTagKey, deleteTagValue})})
	return err
}

// withField sets a field of a direct request.
func withField(event []byte, name string, value any) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("sample event: %w", err)
	}
	ev[name] = value
	return json.Marshal(ev)
}

// withResource returns the EventBridge event with resources[0] set to arn.
func withResource(event []byte, arn string) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("sample event: %w", err)
	}
	ev["resources"] = []string{arn}
	return json.Marshal(ev)
}

// withInstance sets instanceId in a request, direct or in an EventBridge
// event's detail.
func withInstance(event []byte, instanceID string) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("sample event: %w", err)
	}
	target := ev
	if detail, ok := ev["detail"].(map[string]any); ok {
		target = detail
	}
	target["instanceId"] = instanceID
	return json.Marshal(ev)
}

func volumeARN(id string) string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:volume/%s", awstest.Region, awstest.DefaultAccount, id)
}
