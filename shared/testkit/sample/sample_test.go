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

func TestAllReadsEveryJSONSampleOfAFunctionOrOfAll(t *testing.T) {
	one := All(t, "root-volume-cleanup")
	if b, ok := one["scheduled.json"]; !ok || string(b) != string(Bytes(t, "root-volume-cleanup", "scheduled.json")) {
		t.Errorf("All(root-volume-cleanup) = %d samples without scheduled.json as Bytes reads it", len(one))
	}
	every := All(t, "*")
	if b, ok := every["root-volume-cleanup/scheduled.json"]; !ok || string(b) != string(one["scheduled.json"]) {
		t.Errorf("All(*) has no root-volume-cleanup/scheduled.json as All(root-volume-cleanup) reads it")
	}
	functions := map[string]bool{}
	for key, b := range every {
		function, name, ok := strings.Cut(key, "/")
		if !ok || !strings.HasSuffix(name, ".json") || !json.Valid(b) {
			t.Errorf("All(*)[%q] is not a JSON sample keyed <function>/<name>", key)
		}
		functions[function] = true
	}
	if len(functions) < 2 || len(every) <= len(one) {
		t.Errorf("All(*) = %d samples of %d functions, want every function's", len(every), len(functions))
	}
}

func TestAllFailsWithoutSamples(t *testing.T) {
	ft := &fatalTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		All(ft, "no-such-function")
	}()
	if !ft.failed {
		t.Error("All(no-such-function) did not fail the test")
	}
}

// fatalTB records a Fatal instead of ending the test, which ends the
// goroutine: Fatalf panics, and the caller recovers.
type fatalTB struct {
	testing.TB
	failed bool
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) {
	f.failed = true
	panic("fatal")
}

func (f *fatalTB) Fatal(args ...any) {
	f.failed = true
	panic("fatal")
}
