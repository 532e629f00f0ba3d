package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// Every bad request gets an error naming the problem (ErrBadEvent: the
// caller must see it, and no retry can fix it) before any AWS call: the
// calls are counted.
func TestBadEvents(t *testing.T) {
	f := newFixture(t)
	const inst = "i-0123456789abcdef0"
	big := strings.Repeat("x", 300_000)
	ev := func(pairs ...string) json.RawMessage {
		return json.RawMessage(awstest.Replace(t, string(request(t, "eventbridge-request.json", inst)), pairs...))
	}
	tests := []struct {
		name    string
		payload json.RawMessage
		want    string // in the error
	}{
		// The wrong detail-type or source.
		{"another detail-type", ev(`"Replace Root Volume Requested"`, `"Snapshot Root Volume Requested"`), "detail-type"},
		{"another source", ev(`"lambda-suite.root-volume"`, `"aws.ec2"`), "source"},
		// Missing fields.
		{"no instanceId", ev(`"instanceId": "i-0123456789abcdef0",`, ""), "instanceId"},
		{"no restoreTo", ev(`"restoreTo": "latest-snapshot",`, ""), "restoreTo"},
		{"no detail", ev(`"detail": {`, `"detail-less": {`), "request"},
		// Wrong types.
		{"instanceId a number", ev(`"instanceId": "i-0123456789abcdef0"`, `"instanceId": 7`), "request"},
		{"deleteReplacedVolume a string", ev(`"deleteReplacedVolume": false`, `"deleteReplacedVolume": "yes"`), "request"},
		{"an array", json.RawMessage(`[]`), "not a JSON object"},
		{"JSON null", json.RawMessage(`null`), "instanceId"},
		// Oversize.
		{"a 300 KB instance ID", ev(inst, "i-"+big), "not an EC2 instance ID"},
		{"a 300 KB restoreTo", ev(`"latest-snapshot"`, `"snap-`+big+`"`), "restoreTo"},
		// Unknown fields.
		{"an unknown field", ev(`"deleteReplacedVolume": false`, `"deleteReplacedVolume": false, "force": true`), "unknown field"},
		// An ARN where an ID belongs.
		{"an instance ARN", ev(`"instanceId": "i-0123456789abcdef0"`, `"instanceId": "arn:aws:ec2:us-east-1:123456789012:instance/i-0123456789abcdef0"`), "not an EC2 instance ID"},
		{"a snapshot ARN", ev(`"latest-snapshot"`, `"arn:aws:ec2:us-east-1::snapshot/snap-0123456789abcdef0"`), "restoreTo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			_, err := f.h.Handle(context.Background(), tt.payload)
			if !errors.Is(err, rootvolume.ErrBadEvent) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Handle = %v, want a bad-request error saying %q", err, tt.want)
			}
			if n := f.calls.Total(); n != 0 || f.fake.Started() != 0 {
				t.Errorf("AWS calls = %d (%s), tasks = %d, want none", n, f.calls, f.fake.Started())
			}
		})
	}
}
