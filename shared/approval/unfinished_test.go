package approval

import (
	"errors"
	"strings"
	"testing"
)

func TestUnfinishedNamesWhatTheNextSweepRetries(t *testing.T) {
	res := SweepResult{
		Stopped:  []Swept{{Ref: "a", Outcome: "shared"}, {Ref: "b", Error: "share failed"}, {Ref: "c", Tampered: "bad MAC"}},
		Resent:   []Resent{{Ref: "d", Outcome: "sent"}, {Ref: "e", Error: "throttled"}, {Ref: "f", Tampered: "bad MAC", Error: "refused"}},
		Reminded: []Reminded{{Ref: "g", Error: "publish failed"}},
	}
	got := errors.Join(res.Unfinished()...).Error()
	for _, want := range []string{"approval b not finished: share failed", "step decision e not sent: throttled"} {
		if !strings.Contains(got, want) {
			t.Errorf("Unfinished() = %q, want it to name %q", got, want)
		}
	}
	if n := len(res.Unfinished()); n != 2 {
		t.Errorf("Unfinished() has %d errors (%q), want 2: a tampered record and a reminder are never retried", n, got)
	}

	listed := SweepResult{Stopped: []Swept{{Ref: "a", Outcome: "shared"}}, StepsErr: errors.New("scan failed"), Resent: []Resent{{Ref: "e", Error: "x"}}}
	if got := listed.Unfinished(); len(got) != 1 || !strings.Contains(got[0].Error(), "workflow steps not listed: scan failed") {
		t.Errorf("Unfinished() with StepsErr = %v, want only the listing's error", got)
	}
	if got := (SweepResult{Stopped: []Swept{{Ref: "a", Outcome: "shared"}}}).Unfinished(); len(got) != 0 {
		t.Errorf("Unfinished() of a clean sweep = %v, want none", got)
	}
}
