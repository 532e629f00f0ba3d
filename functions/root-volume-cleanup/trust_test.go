package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/ebs-ops/lambda-suite/shared/testkit/notifytest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
)

// developer is a principal of the account that is granted DynamoDB write
// on the replacements table, and even kms:* by identity policy, as a
// developer role or AmazonDynamoDBFullAccess would be: the insider of
// issue 18.
func (f fixture) developer(t *testing.T) aws.Config {
	t.Helper()
	return f.role.OtherPrincipal(t, f.cfg, "developer", fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [
		{"Effect": "Allow", "Action": ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Scan", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
		 "Resource": "arn:aws:dynamodb:%s:%s:table/%s"},
		{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}`, f.cfg.Region, f.acct, table))
}

// put writes an item as the principal of cfg.
func put(t *testing.T, cfg aws.Config, item any) {
	t.Helper()
	av, err := attributevalue.MarshalMap(item)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(cfg).PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: av}); err != nil {
		t.Fatalf("PutItem as the developer: %v", err)
	}
}

// TestForgedReplacementRecordDeletesNothing (issue 18, finding 2): a
// developer with DynamoDB write forges replacement records that say
// "succeeded, a month ago" for detached volumes: with a made-up task ID,
// with the ID of a real succeeded task, and a copy of a real record with
// its MAC and another volume; and a root record that would pin an external
// task's old root. The developer cannot make a MAC (the key policy), so
// nothing is deleted, and the tampering is told: in the summary, a metric
// and the notification topic.
func TestForgedReplacementRecordDeletesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	dev := f.developer(t)

	// The developer cannot seal a record: the key policy names only the
	// suite's roles, whatever the developer's identity policy says.
	_, err := kms.NewFromConfig(dev).GenerateMac(ctx, &kms.GenerateMacInput{KeyId: aws.String(f.keyARN), MacAlgorithm: proof.Algorithm, Message: []byte("x")})
	iam.WantDenied(t, err, "AccessDeniedException", "kms:GenerateMac", f.keyARN)

	labelled := awstest.CreateVolume(t, f.ec2, deleteTag) // detached, even labelled
	plain := awstest.CreateVolume(t, f.ec2)
	copied := awstest.CreateVolume(t, f.ec2)
	// A real external replacement whose task ID the forger reuses, and
	// whose instance's root record it forges.
	ext, extRoot := f.instance(t, "console-replaced")
	task, err := f.fake.StartExternal(ctx, ext)
	if err != nil {
		t.Fatal(err)
	}
	// A real replacement of the suite, whose sealed record is copied.
	web, webRoot := f.instance(t, "web")
	f.replace(t, web)
	f.advance(t, 10*time.Minute)

	month := f.fake.Now().Add(-30 * 24 * time.Hour)
	forged := func(id, vol, instance, taskID string) rootvolume.Replacement {
		return rootvolume.Replacement{ID: id, Kind: rootvolume.KindReplacement, ClientToken: strings.TrimPrefix(id, "replacement#"),
			InstanceID: instance, ReplacedVolumeID: vol, RestoreTo: rootvolume.RestoreLaunchState, RequestedAt: month,
			TaskID: taskID, State: rootvolume.StateSucceeded, CompletedAt: &month, UpdatedAt: month}
	}
	put(t, dev, forged("replacement#forged-task", labelled, "i-0123456789abcdef0", "replacevol-0123456789abcdef0"))
	put(t, dev, forged("replacement#real-task", plain, ext, task))
	real := records(t, f.db)[webRoot]
	tampered := real
	tampered.ID, tampered.ClientToken, tampered.ReplacedVolumeID = "replacement#copied", "copied", copied
	put(t, dev, tampered) // the real record's MAC, another volume
	put(t, dev, rootvolume.RootObservation{ID: "root#" + plain, Kind: rootvolume.KindRoot, InstanceID: ext, VolumeID: plain,
		VolumeCreated: month, ObservedAt: month})
	f.advance(t, 40*24*time.Hour)

	var out bytes.Buffer
	h, inbox := f.notifying(t, func(c *rootvolume.Cleaner) { c.AdoptExternal = true })
	h.metrics = metrics.New("cleanup-fn", &out)
	sum := f.run(t, h)

	for id, want := range map[string]rootvolume.Reason{labelled: rootvolume.ReasonUnsealed, plain: rootvolume.ReasonUnsealed, copied: rootvolume.ReasonTampered} {
		if !exists(t, f.ec2, "volume", id) {
			t.Errorf("volume %s named by a forged record was deleted", id)
		}
		if got := reason(sum, id); got != want {
			t.Errorf("%s kept because %q, want %q", id, got, want)
		}
	}
	// The suite's own replacement still goes: forgery blocks nothing real.
	if diff := slices.Compare(sum.VolumesDeleted, []string{webRoot}); diff != 0 {
		t.Errorf("volumes deleted = %v, want only the suite's replaced root %s", sum.VolumesDeleted, webRoot)
	}
	if !exists(t, f.ec2, "volume", extRoot) {
		t.Errorf("the external task's real old root %s was deleted on a forged root record", extRoot)
	}
	var ids []string
	for _, u := range sum.Untrusted {
		ids = append(ids, u.ID+"="+u.Trust)
	}
	slices.Sort(ids)
	want := []string{"replacement#copied=tampered", "replacement#forged-task=unsealed", "replacement#real-task=unsealed", "root#" + plain + "=unsealed"}
	if !slices.Equal(ids, want) {
		t.Errorf("untrusted records = %v, want %v", ids, want)
	}
	emf.Want(t, out.Bytes(), "cleanup-fn", map[string]float64{"RecordsUntrusted/tampered": 1, "RecordsUntrusted/unsealed": 3})
	notifytest.CheckOne(t, inbox, "Root-volume cleanup: deleted 1, refused 3, 4 untrusted records", "replacement#copied", "replacement#forged-task", "replacement#real-task", "tampered")
}

// TestRolledBackRootSurvivesItsNextDetach (finding 4): a replaced root put
// back during the rollback window is seen as a root by the cleanup, which
// records that (sealed): when it is detached again later, after the
// window, its old task no longer decides, and it stays.
func TestRolledBackRootSurvivesItsNextDetach(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst, oldRoot := f.instance(t, "rolled-back")
	f.replace(t, inst)
	f.advance(t, 10*time.Minute) // the task succeeds
	newRoot, _ := rootvolume.RootVolumeOf(awstest.DescribeInstance(t, f.ec2, inst))

	// The operator rolls back: the old root goes back on the root device.
	device := awstest.DescribeInstance(t, f.ec2, inst).RootDeviceName
	f.detach(t, newRoot, inst)
	if _, err := f.ec2.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(oldRoot), InstanceId: aws.String(inst), Device: device}); err != nil {
		t.Fatal(err)
	}
	f.advance(t, time.Hour)
	sum := f.run(t, f.cleaner())
	if got := reason(sum, oldRoot); got != rootvolume.ReasonIsRoot {
		t.Errorf("rolled-back root kept because %q, want %q", got, rootvolume.ReasonIsRoot)
	}
	rolls := replacetest.Items[rootvolume.Rollback](t, f.db, table, rootvolume.KindRollback)
	if len(rolls) != 1 || rolls[0].VolumeID != oldRoot || rolls[0].InstanceID != inst || rolls[0].MAC == "" {
		t.Fatalf("rollback records = %+v, want one, sealed, for %s on %s", rolls, oldRoot, inst)
	}

	// Weeks later it is detached again (a rescue): its old task would
	// have it deleted at once.
	f.advance(t, 30*24*time.Hour)
	f.detach(t, oldRoot, inst)
	sum = f.run(t, f.cleaner())
	if !exists(t, f.ec2, "volume", oldRoot) || reason(sum, oldRoot) != rootvolume.ReasonRolledBack {
		t.Errorf("rolled-back root after its next detach: kept because %q (exists %v), want %q",
			reason(sum, oldRoot), exists(t, f.ec2, "volume", oldRoot), rootvolume.ReasonRolledBack)
	}
	if n := f.calls.Count("EC2.DeleteVolume"); n != 0 {
		t.Errorf("DeleteVolume calls = %d, want 0", n)
	}
}

// TestOrphanedSnapshotIsKeptForRetainOrphaned (finding 8): a suite snapshot
// whose volume is gone is kept RETAIN_ORPHANED after the cleanup first saw
// it so (a sealed record), then deleted; a forged record that says "first
// seen a year ago" does not shorten the wait.
func TestOrphanedSnapshotIsKeptForRetainOrphaned(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst, root := f.instance(t, "terminated")
	res, err := f.snaps.SnapshotNow(ctx, inst)
	if err != nil {
		t.Fatal(err)
	}
	f.detach(t, root, inst)
	if _, err := f.ec2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(root)}); err != nil {
		t.Fatal(err)
	}
	put(t, f.developer(t), rootvolume.Orphan{ID: "orphan#" + res.SnapshotID, Kind: rootvolume.KindOrphan, SnapshotID: res.SnapshotID,
		VolumeID: root, FirstSeen: f.fake.Now().Add(-365 * 24 * time.Hour)})
	retain := func(c *rootvolume.Cleaner) { c.RetainOrphaned = 168 * time.Hour }

	f.advance(t, 2*time.Hour)
	sum := f.run(t, f.cleaner(retain))
	if !exists(t, f.ec2, "snapshot", res.SnapshotID) || reason(sum, res.SnapshotID) != rootvolume.ReasonOrphanGrace {
		t.Fatalf("first run: snapshot kept because %q, want %q", reason(sum, res.SnapshotID), rootvolume.ReasonOrphanGrace)
	}
	if len(sum.Untrusted) != 1 || sum.Untrusted[0].ID != "orphan#"+res.SnapshotID {
		t.Errorf("untrusted = %+v, want the forged orphan record", sum.Untrusted)
	}
	f.advance(t, 100*time.Hour)
	f.run(t, f.cleaner(retain))
	if !exists(t, f.ec2, "snapshot", res.SnapshotID) {
		t.Fatalf("after 100h: snapshot deleted inside RETAIN_ORPHANED")
	}
	f.advance(t, 70*time.Hour)
	if sum = f.run(t, f.cleaner(retain)); !slices.Contains(sum.SnapshotsDeleted, res.SnapshotID) {
		t.Errorf("after 170h: deleted %v, want %s (kept because %q)", sum.SnapshotsDeleted, res.SnapshotID, reason(sum, res.SnapshotID))
	}
}

// TestAdoptionNamesOnlyThePinnedRoot (finding 9): after a hand swap to a
// volume created before the instance's first root, the root recorded
// last before an external task is the one it replaced, not the newest
// root created before the task (that would name the first root, which the
// task never touched, and delete it).
func TestAdoptionNamesOnlyThePinnedRoot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	spare := awstest.CreateVolume(t, f.ec2) // created before the instance's root
	inst, first := f.instance(t, "swapped")
	if _, err := f.snaps.SnapshotNow(ctx, inst); err != nil { // records the first root
		t.Fatal(err)
	}
	// An operator swaps the roots by hand; the new root is recorded.
	device := awstest.DescribeInstance(t, f.ec2, inst).RootDeviceName
	f.detach(t, first, inst)
	if _, err := f.ec2.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: aws.String(spare), InstanceId: aws.String(inst), Device: device}); err != nil {
		t.Fatal(err)
	}
	f.advance(t, time.Minute)
	if _, err := f.snaps.SnapshotNow(ctx, inst); err != nil {
		t.Fatal(err)
	}
	f.advance(t, time.Minute)
	if _, err := f.fake.StartExternal(ctx, inst); err != nil {
		t.Fatal(err)
	}
	f.advance(t, 25*time.Hour)

	sum := f.run(t, f.cleaner(func(c *rootvolume.Cleaner) { c.AdoptExternal = true }))
	if !exists(t, f.ec2, "volume", first) {
		t.Errorf("the first root %s, which the task never touched, was deleted (deleted %v)", first, sum.VolumesDeleted)
	}
	if !slices.Contains(sum.VolumesDeleted, spare) {
		t.Errorf("deleted %v, want the root the task replaced, %s (kept because %q)", sum.VolumesDeleted, spare, reason(sum, spare))
	}
}

// TestDeleteReplacedVolumeWaitsForTheWindow (finding 3): a request with
// deleteReplacedVolume: true does not have EC2 delete the old root at
// once, past RETAIN_REPLACED and KEEP_TAG: the old root stays, and goes
// through the cleanup's rules: after the window, unless it carries
// KEEP_TAG.
func TestDeleteReplacedVolumeWaitsForTheWindow(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var roots []string
	for _, name := range []string{"deleted-later", "kept"} {
		inst, root := f.instance(t, name)
		if _, err := f.replacer.Replace(ctx, rootvolume.ReplaceRequest{InstanceID: inst, RestoreTo: rootvolume.RestoreLaunchState, DeleteReplacedVolume: true},
			rootvolume.Invocation{RequestedBy: "test"}); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, root)
	}
	f.advance(t, 10*time.Minute) // both tasks succeed
	f.tag(t, roots[1], keepTag)
	sum := f.run(t, f.cleaner())
	for _, root := range roots {
		if !exists(t, f.ec2, "volume", root) {
			t.Fatalf("old root %s deleted with its task: deleteReplacedVolume bypassed the rollback window", root)
		}
	}
	if reason(sum, roots[0]) != rootvolume.ReasonRollbackWindow {
		t.Errorf("inside the window: kept because %q, want the rollback window", reason(sum, roots[0]))
	}
	f.advance(t, 25*time.Hour)
	sum = f.run(t, f.cleaner())
	if !slices.Contains(sum.VolumesDeleted, roots[0]) || !exists(t, f.ec2, "volume", roots[1]) {
		t.Errorf("after the window: deleted %v, want %s only (%s carries KEEP_TAG)", sum.VolumesDeleted, roots[0], roots[1])
	}
}
