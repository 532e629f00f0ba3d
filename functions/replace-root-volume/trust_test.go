package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
)

const (
	tagger  = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ec2:CreateTags", "ec2:Describe*"], "Resource": "*"}]}`
	putter  = `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": "*"}]}`
	busName = "lambda-suite-root-volume"
)

// replaceEvent is a "Replace Root Volume Requested" entry for the bus.
func replaceEvent(t *testing.T, instanceID string, deleteReplaced bool) ebtypes.PutEventsRequestEntry {
	t.Helper()
	detail, err := json.Marshal(rootvolume.ReplaceRequest{InstanceID: instanceID, RestoreTo: rootvolume.RestoreLaunchState, DeleteReplacedVolume: deleteReplaced})
	if err != nil {
		t.Fatal(err)
	}
	return ebtypes.PutEventsRequestEntry{EventBusName: aws.String(busName), Source: aws.String(rootvolume.EventSource),
		DetailType: aws.String(rootvolume.ReplaceDetailType), Detail: aws.String(string(detail))}
}

// TestTagAndPutEventsResetsNothing (issue 18, finding 3): a principal
// with ec2:CreateTags puts the opt-in tag on an instance, and an account
// principal with events:PutEvents (by identity policy) asks on the bus
// for its root to be reset and the old root deleted. The bus's policy
// refuses every principal it does not name (none by default), so no
// event reaches the function and no root is replaced. A principal the
// operator names may put events, and even then deleteReplacedVolume only
// means "after the rollback window, through the cleanup".
func TestTagAndPutEventsResetsNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := awstest.RunInstance(t, f.ec2, "victim")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	if _, err := eventbridge.NewFromConfig(f.cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(busName)}); err != nil {
		t.Fatal(err)
	}
	names := map[string]string{"RootVolumeReplacementsTable": table, "RootVolumeBus": busName}

	// The tagger opts the instance in: a tag is a label anyone with
	// ec2:CreateTags can put, so it stays only a second line.
	tag := ec2.NewFromConfig(f.role.OtherPrincipal(t, f.cfg, "tagger", tagger))
	if _, err := tag.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{optIn}}); err != nil {
		t.Fatalf("CreateTags as the tagger: %v", err)
	}

	// Default: the bus names nobody, so nobody may put the event.
	def := iam.As(t, f.cfg, f.acct, "root-volume.yaml", "ReplaceRootVolumeFunction", iam.Options{Names: names})
	put := eventbridge.NewFromConfig(def.OtherPrincipal(t, f.cfg, "developer", putter))
	_, err := put.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{replaceEvent(t, id, true)}})
	busARN := fmt.Sprintf("arn:aws:events:%s:%s:event-bus/%s", f.cfg.Region, f.acct, busName)
	iam.WantDenied(t, err, "AccessDeniedException", "events:PutEvents", busARN)

	// Named: the operator's role may; the developer still may not.
	operator := fmt.Sprintf("arn:aws:iam::%s:role/operator", f.acct)
	named := iam.As(t, f.cfg, f.acct, "root-volume.yaml", "ReplaceRootVolumeFunction",
		iam.Options{Names: names, Parameters: map[string]string{"RootVolumeBusPrincipals": operator}})
	_, err = eventbridge.NewFromConfig(named.OtherPrincipal(t, f.cfg, "developer", putter)).PutEvents(ctx,
		&eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{replaceEvent(t, id, true)}})
	iam.WantDenied(t, err, "AccessDeniedException", "events:PutEvents", busARN)
	if _, err := eventbridge.NewFromConfig(named.OtherPrincipal(t, f.cfg, "operator", putter)).PutEvents(ctx,
		&eventbridge.PutEventsInput{Entries: []ebtypes.PutEventsRequestEntry{replaceEvent(t, id, true)}}); err != nil {
		t.Errorf("PutEvents as the named operator = %v, want it allowed", err)
	}

	if n := f.fake.Started(); n != 0 {
		t.Errorf("tasks started = %d, want 0", n)
	}
	if got, _ := rootvolume.RootVolumeOf(awstest.DescribeInstance(t, f.ec2, id)); got != root {
		t.Errorf("root of %s = %s, want %s unchanged", id, got, root)
	}

	// The operator's event, as EventBridge delivers it: the task starts,
	// and the old root is kept (no DeleteReplacedRootVolume).
	ev := request(t, "eventbridge-request.json", id)
	var m map[string]any
	if err := json.Unmarshal(ev, &m); err != nil {
		t.Fatal(err)
	}
	m["detail"].(map[string]any)["restoreTo"], m["detail"].(map[string]any)["deleteReplacedVolume"] = rootvolume.RestoreLaunchState, true
	ev, _ = json.Marshal(m)
	if _, err := f.h.Handle(ctx, ev); err != nil {
		t.Fatalf("Handle(operator's event) = %v", err)
	}
	if err := f.fake.Advance(ctx, 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	out, err := f.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{root}})
	if err != nil || len(out.Volumes) != 1 {
		t.Fatalf("the old root %s after the task = %v, %v: want it kept for the cleanup's rules", root, out, err)
	}
}

// TestForgedInvocationRecordIsRefused: a developer with DynamoDB write ties
// an event's ID to another replacement (an invocation record of its own
// making); the retried event does not act on it.
func TestForgedInvocationRecordIsRefused(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := optedIn(t, f.ec2, "victim")
	id := aws.ToString(inst.InstanceId)
	ev := request(t, "eventbridge-request.json", id)
	dev := f.role.OtherPrincipal(t, f.cfg, "developer", fmt.Sprintf(`{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
		"Action": ["dynamodb:PutItem", "dynamodb:GetItem"], "Resource": "arn:aws:dynamodb:%s:%s:table/%s"}]}`, f.cfg.Region, f.acct, table))
	item, err := attributevalue.MarshalMap(map[string]any{"id": "invocation#event:5e4d3c2b-1a09-4f8e-9d7c-6b5a4f3e2d1c", "kind": rootvolume.KindInvocation,
		"clientToken": "forged", "at": time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dynamodb.NewFromConfig(dev).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table), Item: item}); err != nil {
		t.Fatalf("PutItem as the developer: %v", err)
	}
	var out bytes.Buffer
	f.h.metrics = metrics.New("replace-fn", &out)
	if _, err := f.h.Handle(ctx, ev); !errors.Is(err, rootvolume.ErrUntrustedRecord) {
		t.Fatalf("Handle = %v, want the forged invocation record refused as untrusted", err)
	}
	if n := f.fake.Started(); n != 0 {
		t.Errorf("tasks started = %d, want 0", n)
	}
	emf.Want(t, out.Bytes(), "replace-fn", map[string]float64{"ReplacementsNotStarted/untrusted record": 1})
}

// TestTaggedSnapshotIsNotRestored (finding 5): a tagger puts the snapshot
// tag on a snapshot of the root that the suite did not take (no marker in
// its description), the newest one: latest-snapshot restores the suite's
// snapshot, and naming the tagged one explicitly is refused.
func TestTaggedSnapshotIsNotRestored(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := optedIn(t, f.ec2, "ci-host")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suite := suiteSnapshot(t, f.ec2, root)
	chosen := awstest.CreateSnapshot(t, f.ec2, root) // someone's, made later: the newest
	tag := ec2.NewFromConfig(f.role.OtherPrincipal(t, f.cfg, "tagger", tagger))
	if _, err := tag.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{chosen}, Tags: []types.Tag{replaceTag}}); err != nil {
		t.Fatalf("CreateTags as the tagger: %v", err)
	}

	res, err := f.h.Handle(ctx, request(t, "latest-snapshot.json", id))
	if err != nil || res.SnapshotID != suite {
		t.Errorf("Handle(latest-snapshot) = %+v, %v, want the suite's snapshot %s, not the tagged %s", res, err, suite, chosen)
	}
	explicit, _ := json.Marshal(rootvolume.ReplaceRequest{InstanceID: id, RestoreTo: chosen})
	if _, err := f.h.Handle(ctx, explicit); err == nil {
		t.Errorf("Handle(restoreTo %s) = nil error, want the unmarked snapshot refused", chosen)
	}
	if n := f.fake.Started(); n != 1 {
		t.Errorf("tasks started = %d, want 1 (from the suite's snapshot)", n)
	}
}

// TestLostAnswerIsUnknownAndLookedUp (finding 11): EC2 starts the task but
// its answer is lost (a 5xx): the record says unknown, not refused; the
// retried invocation finds the task EC2 made (by instance, the suite's
// tags and the time) and starts no second one.
func TestLostAnswerIsUnknownAndLookedUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := optedIn(t, f.ec2, "lost")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	inv := rootvolume.Invocation{Key: "event:lost-1", RequestedBy: "test"}
	req := rootvolume.ReplaceRequest{InstanceID: id, RestoreTo: rootvolume.RestoreLaunchState}

	f.fake.LoseAnswer(id)
	if _, err := f.h.replacer.Replace(ctx, req, inv); err == nil {
		t.Fatal("Replace with the answer lost = nil error, want it returned (Lambda retries)")
	}
	recs := records(t, f.db)
	if len(recs) != 1 || recs[0].State != rootvolume.StateUnknown || recs[0].TaskID != "" {
		t.Fatalf("records = %+v, want one, unknown, without a task", recs)
	}
	if tags := volumeTags(t, f.ec2, root); tags["delete-volume"] != "" {
		t.Errorf("root labelled %v before EC2's answer was known", tags)
	}

	res, err := f.h.replacer.Replace(ctx, req, inv) // Lambda's retry
	if err != nil || res.TaskID == "" || !res.Retried {
		t.Fatalf("retry = %+v, %v, want the task EC2 made, found again", res, err)
	}
	if n := f.fake.Started(); n != 1 {
		t.Errorf("tasks started = %d, want 1", n)
	}
	recs = records(t, f.db)
	if len(recs) != 1 || recs[0].State != rootvolume.StateStarted || recs[0].TaskID != res.TaskID {
		t.Errorf("records = %+v, want one, started, with task %s", recs, res.TaskID)
	}
	if tags := volumeTags(t, f.ec2, root); tags["delete-volume"] != "true" {
		t.Errorf("root tags = %v, want the label once the task is known", tags)
	}
}

// TestNewRequestAfterAFailedTaskStartsANewTask (finding 11): the same
// request for the same root after its task failed takes a new client
// token, and EC2 starts a new task; the old token would give the failed
// task back, report success and label the live root.
func TestNewRequestAfterAFailedTaskStartsANewTask(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := optedIn(t, f.ec2, "retried")
	id := aws.ToString(inst.InstanceId)
	req := rootvolume.ReplaceRequest{InstanceID: id, RestoreTo: rootvolume.RestoreLaunchState}
	f.fake.Fail(id)
	first, err := f.h.replacer.Replace(ctx, req, rootvolume.Invocation{Key: "event:first", RequestedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.fake.Advance(ctx, 10*time.Minute); err != nil { // the task fails
		t.Fatal(err)
	}
	second, err := f.h.replacer.Replace(ctx, req, rootvolume.Invocation{Key: "event:second", RequestedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if second.TaskID == "" || second.TaskID == first.TaskID || second.ClientToken == first.ClientToken || second.Retried {
		t.Errorf("second request = task %s token %s retried %v, want a new task with a new token (first: %s, %s)",
			second.TaskID, second.ClientToken, second.Retried, first.TaskID, first.ClientToken)
	}
	if n := f.fake.Started(); n != 2 {
		t.Errorf("tasks started = %d, want 2", n)
	}
	byToken := map[string]rootvolume.Replacement{}
	for _, r := range records(t, f.db) {
		byToken[r.ClientToken] = r
	}
	if r := byToken[first.ClientToken]; r.State != rootvolume.StateFailed {
		t.Errorf("first record state = %q, want failed (EC2's answer)", r.State)
	}
}
