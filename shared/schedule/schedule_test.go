package schedule

import (
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		ev   events.CloudWatchEvent
		ok   bool
	}{
		{"the schedule", events.CloudWatchEvent{Source: Source, DetailType: DetailType, Detail: []byte(`{}`)}, true},
		{"run now", events.CloudWatchEvent{}, true},
		{"another detail-type", events.CloudWatchEvent{Source: Source, DetailType: "EBS Volume Notification"}, false},
		{"another source", events.CloudWatchEvent{Source: "custom.events", DetailType: DetailType}, false},
		{"only a detail", events.CloudWatchEvent{Detail: []byte(`{"x":1}`)}, false},
		{"a huge detail-type", events.CloudWatchEvent{Source: Source, DetailType: strings.Repeat("x", 300_000)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Check(tt.ev)
			if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrNotASchedule)) {
				t.Fatalf("Check = %v, want ok %v", err, tt.ok)
			}
			if err != nil && len(err.Error()) > 400 {
				t.Errorf("error is %d bytes, want the input clipped", len(err.Error()))
			}
		})
	}
}
