package rootvolume

import (
	"encoding/json"
	"testing"
)

// The summary's JSON is a contract: a kept resource is {"id", "kind",
// "reason"}, the reason being the text an operator reads.
func TestSkipJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		skip Skip
		want string
	}{
		{"no detail", Skip{ID: "vol-1", Kind: KindVolume, Reason: ReasonAttached},
			`{"id":"vol-1","kind":"volume","reason":"attached to an instance"}`},
		{"detail", Skip{ID: "vol-1", Kind: KindVolume, Reason: ReasonIsRoot, Detail: "(i-9)"},
			`{"id":"vol-1","kind":"volume","reason":"is an instance's root volume (i-9)"}`},
		{"cause", Skip{ID: "snap-1", Kind: KindSnapshot, Reason: ReasonRecycleUnread, Detail: "AccessDenied"},
			`{"id":"snap-1","kind":"snapshot","reason":"the Recycle Bin's AMIs could not be read: AccessDenied"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.skip)
			if err != nil || string(got) != tc.want {
				t.Errorf("json.Marshal(%+v) = %s, %v, want %s", tc.skip, got, err, tc.want)
			}
		})
	}
}

func TestRefusal(t *testing.T) {
	for r, want := range map[Reason]bool{
		ReasonUnrecorded: true, ReasonTampered: true, ReasonAmbiguousRoot: true, ReasonIsRoot: true,
		ReasonKeepTag: false, ReasonRollbackWindow: false, ReasonTooYoung: false, ReasonOrphanGrace: false,
	} {
		if got := r.Refusal(); got != want {
			t.Errorf("%q.Refusal() = %v, want %v", r, got, want)
		}
	}
}
