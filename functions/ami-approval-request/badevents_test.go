package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
)

// edited returns the single-Region sample with its message's JSON changed
// by edit.
func edited(t *testing.T, edit func(m map[string]any)) events.SNSEvent {
	t.Helper()
	ev := sample(t, "available-single-region.json")
	var m map[string]any
	if err := json.Unmarshal([]byte(ev.Records[0].SNS.Message), &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	ev.Records[0].SNS.Message = string(b)
	return ev
}

// Every bad message is refused as not an image, with a reason naming the
// problem, no error (no retry can fix it) and no AWS call: no link, no
// record, no notice. The calls are counted.
func TestBadEvents(t *testing.T) {
	f := newFixture(t)
	big := strings.Repeat("x", 300_000)
	amis := func(m map[string]any) []any { return m["outputResources"].(map[string]any)["amis"].([]any) }
	tests := []struct {
		name string
		edit func(m map[string]any)
		want string // in the reason
	}{
		// The wrong kind of message.
		{"a container image", func(m map[string]any) { m["type"] = "DOCKER" }, "want AMI"},
		// Missing fields.
		{"no arn", func(m map[string]any) { delete(m, "arn") }, "arn"},
		{"no state", func(m map[string]any) { delete(m, "state") }, "state.status"},
		{"no AMI region", func(m map[string]any) { delete(amis(m)[0].(map[string]any), "region") }, "amis[0]"},
		// Wrong types.
		{"state a string", func(m map[string]any) { m["state"] = "AVAILABLE" }, "not an Image Builder"},
		{"amis an object", func(m map[string]any) { m["outputResources"] = map[string]any{"amis": map[string]any{}} }, "not an Image Builder"},
		{"arn a number", func(m map[string]any) { m["arn"] = 7 }, "not an Image Builder"},
		// Oversize.
		{"a 300 KB arn", func(m map[string]any) { m["arn"] = "arn:aws:imagebuilder:us-east-1:123456789012:image/" + big }, "not an Image Builder image ARN"},
		{"a 300 KB AMI ID", func(m map[string]any) { amis(m)[0].(map[string]any)["image"] = "ami-" + big }, "amis[0]"},
		// ARNs of the wrong service or partition.
		{"a recipe ARN", func(m map[string]any) {
			m["arn"] = "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/golden-al2023/1.0.4"
		}, "not an Image Builder image ARN"},
		{"a Lambda ARN", func(m map[string]any) { m["arn"] = "arn:aws:lambda:us-east-1:123456789012:function:golden-al2023" }, "not an Image Builder image ARN"},
		{"a made-up partition", func(m map[string]any) {
			m["arn"] = "arn:evil:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2"
		}, "not an Image Builder image ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			res, err := f.h.Handle(context.Background(), edited(t, tt.edit))
			if err != nil || len(res) != 1 || res[0].Outcome != approval.NotAnImage || !strings.Contains(res[0].Reason, tt.want) {
				t.Errorf("Handle = %+v, %v, want %s with a reason saying %q", res, err, approval.NotAnImage, tt.want)
			}
			if len(res) == 1 && len(res[0].Reason) > 1000 {
				t.Errorf("reason is %d bytes, want the input clipped", len(res[0].Reason))
			}
			if n := f.calls.Total(); n != 0 {
				t.Errorf("AWS calls = %d (%s), want none", n, f.calls)
			}
		})
	}
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("approver e-mails = %d, want 0", n)
	}
}

// Builds in aws-cn and aws-us-gov, and messages with fields Image Builder
// adds later, are read.
func TestMessagesThatAreRead(t *testing.T) {
	for _, tt := range []struct {
		name, arn, region string
	}{
		{"aws-cn", "arn:aws-cn:imagebuilder:cn-north-1:123456789012:image/golden-al2023/1.0.4/2", "cn-north-1"},
		{"aws-us-gov", "arn:aws-us-gov:imagebuilder:us-gov-west-1:123456789012:image/golden-al2023/1.0.4/2", "us-gov-west-1"},
		{"a new field", "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2", "us-east-1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ev := edited(t, func(m map[string]any) {
				m["arn"], m["lifecycleExecutionId"] = tt.arn, "new"
				m["outputResources"].(map[string]any)["amis"].([]any)[0].(map[string]any)["region"] = tt.region
			})
			im, err := approval.ParseImage([]byte(ev.Records[0].SNS.Message))
			if err != nil || im.ARN != tt.arn || len(im.AMIs) != 1 || im.AMIs[0].Region != tt.region {
				t.Errorf("ParseImage = %+v, %v, want %s with its AMI in %s", im, err, tt.arn, tt.region)
			}
		})
	}
}
