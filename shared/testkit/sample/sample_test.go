package sample

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestEventReadsASampleWithItsPlaceholdersReplaced(t *testing.T) {
	raw := Bytes(t, "snapshot-on-volume-create", "create-volume-available.json")
	if !json.Valid(raw) || !strings.Contains(string(raw), "vol-") {
		t.Fatalf("the sample is not the volume event: %s", raw)
	}
	ev := Event[events.CloudWatchEvent](t, "snapshot-on-volume-create", "create-volume-available.json", "vol-", "vol-replaced-")
	if ev.DetailType != "EBS Volume Notification" || len(ev.Resources) != 1 || !strings.Contains(ev.Resources[0], "vol-replaced-") {
		t.Errorf("event = %+v, want the EBS volume notification with its volume replaced", ev)
	}
	if got := Event[json.RawMessage](t, "root-volume-cleanup", "scheduled.json"); !json.Valid(got) {
		t.Errorf("raw sample not JSON: %s", got)
	}
}
