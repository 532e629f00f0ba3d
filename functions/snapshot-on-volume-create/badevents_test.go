package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// edited returns sample name with each old, new pair replaced once.
func edited(t *testing.T, name string, pairs ...string) json.RawMessage {
	t.Helper()
	return json.RawMessage(awstest.Replace(t, string(sample(t, name, sampleVolume)), pairs...))
}

// Every bad event is rejected or ignored with a reason naming the problem,
// returns no error (no retry can fix it), and makes no AWS call at all: the
// calls are counted.
func TestBadEvents(t *testing.T) {
	f := newFixture(t, time.Second)
	big := strings.Repeat("x", 300_000)
	const volumeARN = `"arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0"`
	tests := []struct {
		name    string
		payload json.RawMessage
		outcome string
		want    string // in the reason
	}{
		// The wrong detail-type or source.
		{"another detail-type", edited(t, "create-volume-available.json", `"EBS Volume Notification"`, `"EBS Snapshot Notification"`), rootvolume.SnapshotRejected, "detail-type"},
		{"another source", edited(t, "create-volume-available.json", `"aws.ec2"`, `"custom.ec2"`), rootvolume.SnapshotRejected, "source"},
		{"an unknown suite detail-type", edited(t, "snapshot-now.json", `"Snapshot Root Volume Requested"`, `"Snapshot Root Volume Wanted"`), rootvolume.SnapshotRejected, "detail-type"},
		// Missing fields.
		{"no resources", edited(t, "create-volume-available.json", volumeARN, ""), rootvolume.SnapshotRejected, "no resources"},
		{"no detail", edited(t, "create-volume-available.json", `"detail": {`, `"detail-less": {`), rootvolume.SnapshotRejected, "no detail"},
		{"snapshot-now without instanceId", edited(t, "snapshot-now.json", `"instanceId": "i-0123456789abcdef0"`, ``), rootvolume.SnapshotRejected, "instanceId"},
		{"a failed creation", edited(t, "create-volume-available.json", `"result": "available"`, `"result": "failed"`), rootvolume.SnapshotIgnored, "failed"},
		// Wrong types.
		{"resources a string", edited(t, "create-volume-available.json", `[
    `+volumeARN+`
  ]`, volumeARN), rootvolume.SnapshotRejected, "not an EventBridge event"},
		{"event a number", edited(t, "create-volume-available.json", `"event": "createVolume"`, `"event": 7`), rootvolume.SnapshotRejected, "detail"},
		{"instanceId a number", edited(t, "snapshot-now.json", `"instanceId": "i-0123456789abcdef0"`, `"instanceId": 7`), rootvolume.SnapshotRejected, "instanceId"},
		{"JSON null", json.RawMessage(`null`), rootvolume.SnapshotRejected, "detail-type"},
		// Oversize.
		{"a 300 KB volume ARN", edited(t, "create-volume-available.json", "vol-0123456789abcdef0", "vol-"+big), rootvolume.SnapshotRejected, "not an EC2 volume ARN"},
		{"a 300 KB instance ID", edited(t, "snapshot-now.json", "i-0123456789abcdef0", "i-"+big), rootvolume.SnapshotRejected, "not an EC2 instance ID"},
		// Unknown fields: the suite's own event is strict.
		{"snapshot-now with an unknown field", edited(t, "snapshot-now.json", `"instanceId": "i-0123456789abcdef0"`, `"instanceId": "i-0123456789abcdef0", "volumeId": "vol-1"`), rootvolume.SnapshotRejected, "instanceId"},
		// ARNs of the wrong service.
		{"a snapshot ARN", edited(t, "create-volume-available.json", "volume/vol-0123456789abcdef0", "snapshot/snap-0123456789abcdef0"), rootvolume.SnapshotRejected, "not an EC2 volume ARN"},
		{"a Lambda ARN", edited(t, "create-volume-available.json", volumeARN, `"arn:aws:lambda:us-east-1:123456789012:function:vol-0123456789abcdef0"`), rootvolume.SnapshotRejected, "not an EC2 volume ARN"},
		{"not an ARN", edited(t, "create-volume-available.json", volumeARN, `"vol-0123456789abcdef0"`), rootvolume.SnapshotRejected, "not an ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			res, err := f.h.Handle(context.Background(), tt.payload)
			if err != nil || res.Outcome != tt.outcome || !strings.Contains(res.Reason, tt.want) {
				t.Errorf("Handle = %+v, %v, want %s with a reason saying %q", res, err, tt.outcome, tt.want)
			}
			if n := f.calls.Total(); n != 0 {
				t.Errorf("AWS calls = %d (%s), want none", n, f.calls)
			}
		})
	}
}

// A volume in aws-cn or aws-us-gov is read, and so is a field EC2 adds to
// its events later: each is looked up (and, not existing here, skipped).
func TestEventsThatAreRead(t *testing.T) {
	f := newFixture(t, time.Second)
	const volumeARN = "arn:aws:ec2:us-east-1:123456789012:volume/"
	for _, tt := range []struct {
		name  string
		pairs []string
	}{
		{"aws-cn", []string{volumeARN, "arn:aws-cn:ec2:cn-north-1:123456789012:volume/", `"us-east-1"`, `"cn-north-1"`}},
		{"aws-us-gov", []string{volumeARN, "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:volume/", `"us-east-1"`, `"us-gov-west-1"`}},
		{"a new field", []string{`"cause": "",`, `"cause": "", "encrypted": true,`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			res, err := f.h.Handle(context.Background(), edited(t, "create-volume-available.json", tt.pairs...))
			if err != nil || res.Outcome != rootvolume.SnapshotSkipped || res.VolumeID != sampleVolume {
				t.Errorf("Handle = %+v, %v, want %s read and skipped as gone", res, err, sampleVolume)
			}
			if n := f.calls.Count("EC2.DescribeVolumes"); n != 1 {
				t.Errorf("DescribeVolumes calls = %d, want 1", n)
			}
		})
	}
}
