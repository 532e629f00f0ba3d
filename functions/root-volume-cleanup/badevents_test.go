package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

// scheduledWith returns the sample schedule event with each old, new pair
// replaced once, decoded as the runtime decodes it; ok is false when the
// runtime could not decode it (it then fails the invocation itself, with
// the decoding error, and Handle is never called).
func scheduledWith(t *testing.T, pairs ...string) (ev events.CloudWatchEvent, ok bool) {
	t.Helper()
	b := sample.Bytes(t, "root-volume-cleanup", "scheduled.json")
	return ev, json.Unmarshal([]byte(awstest.Replace(t, string(b), pairs...)), &ev) == nil
}

// An event that is not the schedule's starts no cleanup, even with a
// volume due for deletion: the run is skipped and logged, and no AWS call
// is made. Events the runtime cannot decode never reach Handle. The
// schedule's event, with fields EventBridge may add and from any
// partition, runs the cleanup.
func TestBadEvents(t *testing.T) {
	f := newFixture(t)
	inst, oldRoot := f.instance(t, "web")
	f.replace(t, inst)
	f.advance(t, 25*time.Hour) // oldRoot is due
	big := strings.Repeat("x", 300_000)
	skipped := []struct {
		name  string
		pairs []string
	}{
		{"another detail-type", []string{`"Scheduled Event"`, `"EBS Volume Notification"`}},
		{"another source", []string{`"aws.events"`, `"aws.ec2"`}},
		{"no source", []string{`"source": "aws.events",`, ""}},
		{"a 300 KB detail-type", []string{`"Scheduled Event"`, `"` + big + `"`}},
	}
	for _, tt := range skipped {
		t.Run(tt.name, func(t *testing.T) {
			ev, ok := scheduledWith(t, tt.pairs...)
			if !ok {
				t.Fatal("the runtime could not decode the event")
			}
			f.calls.Reset()
			sum, err := f.cleaner().Handle(context.Background(), ev)
			if err != nil || len(sum.VolumesDeleted)+len(sum.SnapshotsDeleted) != 0 {
				t.Errorf("Handle = %+v, %v, want a skipped run", sum, err)
			}
			if n := f.calls.Total(); n != 0 {
				t.Errorf("AWS calls = %d (%s), want none", n, f.calls)
			}
		})
	}
	for _, tt := range []struct{ name, old, new string }{
		{"detail-type a number", `"Scheduled Event"`, `7`},
		{"resources a string", `[
    "arn:aws:events:us-east-1:123456789012:rule/root-volume-cleanup-schedule"
  ]`, `"arn"`},
		{"time not a time", `"2026-11-20T12:00:00Z"`, `"noon"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, ok := scheduledWith(t, tt.old, tt.new); ok {
				t.Errorf("the runtime decoded an event with %s; want its decoding error", tt.name)
			}
		})
	}
	// The schedule itself, with an unknown field and an aws-us-gov rule
	// ARN (the ARN is not read), runs and deletes what is due.
	ev, _ := scheduledWith(t, `"detail": {}`, `"detail": {}, "new-field": true`,
		"arn:aws:events:us-east-1:", "arn:aws-us-gov:events:us-gov-west-1:")
	sum, err := f.cleaner().Handle(context.Background(), ev)
	if err != nil || len(sum.VolumesDeleted) != 1 || sum.VolumesDeleted[0] != oldRoot {
		t.Errorf("scheduled run = deleted %v, %v, want %s deleted", sum.VolumesDeleted, err, oldRoot)
	}
}
