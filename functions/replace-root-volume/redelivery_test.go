package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
)

// invocation is the context Lambda gives an invocation with this request
// ID (the same ID on Lambda's own retries of an asynchronous invocation).
func invocation(requestID string) context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
}

// TestLambdaRetryAfterTheTaskFinishedStartsNoSecondReplacement: Lambda
// retries an asynchronous invocation (same request ID) after the first
// one's task has replaced the root. The instance's root is now the new
// volume, so a client token derived from it would be new: the retry must
// find the first invocation's replacement instead of starting another.
func TestLambdaRetryAfterTheTaskFinishedStartsNoSecondReplacement(t *testing.T) {
	f := newFixture(t)
	id := aws.ToString(optedIn(t, f.ec2, "kiosk").InstanceId)
	ev := request(t, "launch-state.json", id)

	first, err := f.h.Handle(invocation("req-1"), ev)
	if err != nil {
		t.Fatalf("first Handle = %v", err)
	}
	if err := f.fake.Advance(context.Background(), 10*time.Minute); err != nil { // the task succeeds: a new root
		t.Fatal(err)
	}
	again, err := f.h.Handle(invocation("req-1"), ev)
	if err != nil || !again.Retried || again.TaskID != first.TaskID || again.ReplacedVolumeID != first.ReplacedVolumeID {
		t.Errorf("retried Handle = %+v, %v; want the first task %s of volume %s found again", again, err, first.TaskID, first.ReplacedVolumeID)
	}
	if n := f.fake.Started(); n != 1 {
		t.Errorf("replacement tasks started = %d, want 1", n)
	}
	if n := len(records(t, f.db)); n != 1 {
		t.Errorf("replacement records = %d, want 1", n)
	}
}

// TestEventBridgeRedeliveryAfterTheTaskFinishedStartsNoSecondReplacement:
// EventBridge delivers the same event (same ID) again, in a new invocation,
// after the replacement it asked for has finished.
func TestEventBridgeRedeliveryAfterTheTaskFinishedStartsNoSecondReplacement(t *testing.T) {
	f := newFixture(t)
	inst := optedIn(t, f.ec2, "build-agent")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	suiteSnapshot(t, f.ec2, root)
	ev := request(t, "eventbridge-request.json", id)

	first, err := f.h.Handle(invocation("req-1"), ev)
	if err != nil {
		t.Fatalf("first Handle = %v", err)
	}
	if err := f.fake.Advance(context.Background(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	again, err := f.h.Handle(invocation("req-2"), ev)
	if err != nil || !again.Retried || again.TaskID != first.TaskID {
		t.Errorf("redelivered Handle = %+v, %v; want the first task %s found again", again, err, first.TaskID)
	}
	if n := f.fake.Started(); n != 1 {
		t.Errorf("replacement tasks started = %d, want 1", n)
	}
}

// finishesAtOnce is EC2 when a task completes (and deletes the old root)
// before the function gets to label it. The calls stay the role's.
type finishesAtOnce struct{ *replacetest.Caller }

func (f finishesAtOnce) CreateReplaceRootVolumeTask(ctx context.Context, in *ec2.CreateReplaceRootVolumeTaskInput, opts ...func(*ec2.Options)) (*ec2.CreateReplaceRootVolumeTaskOutput, error) {
	out, err := f.Caller.CreateReplaceRootVolumeTask(ctx, in, opts...)
	if err == nil {
		err = f.Tasks.Advance(ctx, 10*time.Minute)
	}
	return out, err
}

// TestOldRootDeletedWithItsTaskNeedsNoLabel: with deleteReplacedVolume, EC2
// may delete the old root before the function labels it for the cleanup.
// There is nothing left to label: the replacement started, and the
// invocation succeeds rather than fail (and be retried) on a volume that is
// gone as asked.
func TestOldRootDeletedWithItsTaskNeedsNoLabel(t *testing.T) {
	f := newFixture(t)
	f.h.replacer.EC2 = finishesAtOnce{f.caller}
	inst := optedIn(t, f.ec2, "lab")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)

	res, err := f.h.Handle(invocation("req-1"), request(t, "launch-state.json", id))
	if err != nil || res.TaskID == "" || res.ReplacedVolumeID != root {
		t.Fatalf("Handle = %+v, %v; want the task started on %s", res, err, root)
	}
	if recs := records(t, f.db); len(recs) != 1 || recs[0].State != rootvolume.StateStarted || recs[0].TaskID != res.TaskID {
		t.Errorf("records = %+v, want one started with task %s", recs, res.TaskID)
	}
}

// refusedOnce handles ev in invocation req-1 while EC2 refuses the
// instance's tasks, then lets EC2 accept them again.
func (f fixture) refusedOnce(t *testing.T, instanceID string, ev []byte) {
	t.Helper()
	f.fake.Refuse(instanceID, "IncorrectInstanceState", "the instance is not in a state to replace its root volume")
	if _, err := f.h.Handle(invocation("req-1"), ev); err == nil {
		t.Fatal("Handle with EC2 refusing = nil error, want the refusal")
	}
	f.fake.Accept(instanceID)
}

// TestRetryAfterARefusalAsksAgainWithTheSameToken: EC2 refused the first
// invocation's task; Lambda's retry asks again for the recorded
// replacement (same token), and once EC2 accepts, one task runs.
func TestRetryAfterARefusalAsksAgainWithTheSameToken(t *testing.T) {
	f := newFixture(t)
	id := aws.ToString(optedIn(t, f.ec2, "db-replica").InstanceId)
	ev := request(t, "launch-state.json", id)
	f.refusedOnce(t, id, ev)
	res, err := f.h.Handle(invocation("req-1"), ev)
	if err != nil || !res.Retried || res.TaskID == "" {
		t.Fatalf("retried Handle = %+v, %v; want the recorded replacement started", res, err)
	}
	recs := records(t, f.db)
	if len(recs) != 1 || recs[0].State != rootvolume.StateStarted || recs[0].ClientToken != res.ClientToken || f.fake.Started() != 1 {
		t.Errorf("records = %+v, tasks %d; want one record started with token %s, one task", recs, f.fake.Started(), res.ClientToken)
	}
}

// TestRetryAfterTheRootChangedElsewhereStartsNothing: EC2 refused the
// first invocation's task, then someone replaced the root outside the
// suite. The retry must not ask EC2 for a replacement of a volume that is
// no longer the root.
func TestRetryAfterTheRootChangedElsewhereStartsNothing(t *testing.T) {
	f := newFixture(t)
	id := aws.ToString(optedIn(t, f.ec2, "web-1").InstanceId)
	ev := request(t, "launch-state.json", id)
	f.refusedOnce(t, id, ev)
	if _, err := f.fake.StartExternal(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	if err := f.fake.Advance(context.Background(), 10*time.Minute); err != nil {
		t.Fatal(err)
	}
	_, err := f.h.Handle(invocation("req-1"), ev)
	if !errors.Is(err, rootvolume.ErrRootChanged) {
		t.Errorf("retried Handle = %v, want ErrRootChanged", err)
	}
	if n := f.fake.Started(); n != 1 {
		t.Errorf("tasks started = %d, want only the external one", n)
	}
}

// TestAnEventIDUsedForAnotherRequestStartsNothing: two different requests
// that claim the same EventBridge event ID are not a retry: the second is
// refused as a bad event, and no task is started for it.
func TestAnEventIDUsedForAnotherRequestStartsNothing(t *testing.T) {
	f := newFixture(t)
	first := aws.ToString(optedIn(t, f.ec2, "a").InstanceId)
	second := aws.ToString(optedIn(t, f.ec2, "b").InstanceId)
	if _, err := f.h.Handle(invocation("req-1"), request(t, "launch-state.json", first)); err != nil {
		t.Fatal(err)
	}
	// The same request ID, another instance: not what Lambda retries.
	_, err := f.h.Handle(invocation("req-1"), request(t, "launch-state.json", second))
	if !errors.Is(err, rootvolume.ErrBadEvent) || !strings.Contains(err.Error(), "used before for another request") {
		t.Errorf("Handle(second request, same key) = %v, want a bad event naming the reuse", err)
	}
	if n := f.fake.Started(); n != 1 {
		t.Errorf("tasks started = %d, want 1", n)
	}
}
