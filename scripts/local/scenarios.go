package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/awstest"
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
		about:     "a new root volume is snapshotted once; other volumes and events are left alone",
		functions: []string{"snapshot-on-volume-create"},
		run:       snapshotOnVolumeCreate,
	},
	{
		name:      "replace-root-volume",
		about:     "an instance's root volume is restored from its latest snapshot, or to its launch state",
		functions: []string{"replace-root-volume"},
		run:       replaceRootVolume,
	},
	{
		name:      "root-volume-cleanup",
		about:     "replaced root volumes and orphaned replacement snapshots are deleted, nothing else",
		functions: []string{"root-volume-cleanup"},
		run:       rootVolumeCleanup,
	},
	healthGateScenario,
	amiApprovalScenario,
	diskAlarmScenario,
}

func snapshotOnVolumeCreate(ctx context.Context, r *runner) error {
	f, err := r.start("snapshot-on-volume-create", "SNAPSHOT_TAG="+snapshotTag, "ATTACH_WAIT=2s")
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
	return nil
}

func replaceRootVolume(ctx context.Context, r *runner) error {
	r.note("moto has no CreateReplaceRootVolumeTask: this function's EC2 endpoint is a stand-in in")
	r.note("front of moto that answers it as EC2 completes such a task (a volume from the snapshot,")
	r.note("or the AMI's, takes the root device; the old one stays, detached, unless deleteReplacedVolume)")
	r.note("and passes every other call to moto. The real call is exercised only in AWS.")
	f, err := r.start("replace-root-volume",
		"SNAPSHOT_TAG="+snapshotTag, "DELETE_VOLUME_TAG="+deleteTag,
		"AWS_ENDPOINT_URL="+r.standIn.URL, "AWS_MAX_ATTEMPTS=1")
	if err != nil {
		return err
	}
	defer f.Close()

	web2 := r.acct.web2
	ev, err := r.event("replace-root-volume", "eventbridge-request.json")
	if err != nil {
		return err
	}
	if ev, err = withInstance(ev, web2.ID); err != nil {
		return err
	}
	r.step("restore web-2 from its latest snapshot (eventbridge-request.json, detail.instanceId → %s)", web2.ID)
	inv, err := r.invoke(ctx, f, ev)
	if err != nil {
		return err
	}
	old := inv.volume(web2.RootVolume)
	r.check(old != nil && len(old.Attachments) == 0 && tagValue(old.Tags, deleteTagKey) == deleteTagValue,
		"web-2's old root volume %s is kept, detached and tagged %s", web2.RootVolume, deleteTag)
	root := inv.volume(inv.rootVolume(web2.ID))
	r.check(root != nil && aws.ToString(root.SnapshotId) == r.acct.web2Snapshot,
		"web-2's root volume is now %s, restored from %s", inv.rootVolume(web2.ID), r.acct.web2Snapshot)

	web1 := r.acct.web1
	if ev, err = r.event("replace-root-volume", "launch-state.json"); err != nil {
		return err
	}
	if ev, err = withInstance(ev, web1.ID); err != nil {
		return err
	}
	r.step("restore web-1 to its launch state and delete the old root volume (launch-state.json, instanceId → %s)", web1.ID)
	if inv, err = r.invoke(ctx, f, ev); err != nil {
		return err
	}
	newRoot := inv.rootVolume(web1.ID)
	r.check(newRoot != "" && newRoot != web1.RootVolume && inv.volume(web1.RootVolume) == nil,
		"web-1's root volume is now %s; the old one, %s, is deleted", newRoot, web1.RootVolume)
	return nil
}

func rootVolumeCleanup(ctx context.Context, r *runner) error {
	ev, err := r.event("root-volume-cleanup", "scheduled.json")
	if err != nil {
		return err
	}
	env := []string{"SNAPSHOT_TAG=" + snapshotTag, "DELETE_VOLUME_TAG=" + deleteTag, "MIN_AGE=0s"}

	r.step("dry run: the plan, nothing deleted (scheduled.json)")
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

	r.step("the real run (scheduled.json)")
	f, err := r.start("root-volume-cleanup", append(env, "DRY_RUN=false")...)
	if err != nil {
		return err
	}
	defer f.Close()
	if inv, err = r.invoke(ctx, f, ev); err != nil {
		return err
	}

	// What must go and what must stay follows from the account as the run
	// found it, so the checks hold whichever scenarios ran before.
	amis := before.amiSnapshots()
	for _, v := range before.volumes {
		id := aws.ToString(v.VolumeId)
		if tagValue(v.Tags, deleteTagKey) != deleteTagValue {
			continue
		}
		if len(v.Attachments) == 0 {
			r.check(inv.volume(id) == nil, "detached tagged volume %s%s is deleted", id, nameSuffix(tagValue(v.Tags, "Name")))
		} else {
			r.check(inv.volume(id) != nil, "attached tagged volume %s%s is kept", id, nameSuffix(tagValue(v.Tags, "Name")))
		}
	}
	for _, s := range before.taggedSnapshots("", snapshotTagKey, snapshotTagValue) {
		id, name := aws.ToString(s.SnapshotId), nameSuffix(tagValue(s.Tags, "Name"))
		switch {
		case amis[id] != "":
			r.check(inv.snapshot(id) != nil, "snapshot %s%s backing %s is kept", id, name, amis[id])
		case before.volume(aws.ToString(s.VolumeId)) == nil:
			r.check(inv.snapshot(id) == nil, "snapshot %s%s, whose volume is gone, is deleted", id, name)
		default:
			r.check(inv.snapshot(id) != nil, "snapshot %s%s, whose volume exists, is kept", id, name)
		}
	}
	r.check(inv.snapshot(r.acct.untaggedSnapshot) != nil, "untagged snapshot %s is kept", r.acct.untaggedSnapshot)
	return nil
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
