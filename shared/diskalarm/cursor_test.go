package diskalarm

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDeleteBatcher walks passes of puts (P) and deletes (D) through a
// batcher of 2 whose sends succeed until the deadline (after `sends`
// batches), and checks the batches sent and how far the cursor may move.
func TestDeleteBatcher(t *testing.T) {
	tests := []struct {
		name      string
		steps     string // P: a put, tried; D: a delete; X: a put the deadline stops
		sends     int    // batches sent before the deadline
		wantSent  [][]string
		wantDone  int // after the final flush
		wantAfter bool
	}{
		{name: "puts only", steps: "PPP", sends: 9, wantDone: 3, wantAfter: true},
		{name: "a full batch goes at once", steps: "DDP", sends: 9, wantSent: [][]string{{"0", "1"}}, wantDone: 3, wantAfter: true},
		{name: "a part batch waits for the end", steps: "PDP", sends: 9, wantSent: [][]string{{"1"}}, wantDone: 3, wantAfter: true},
		{name: "two batches and a rest", steps: "DDDDD", sends: 9, wantSent: [][]string{{"0", "1"}, {"2", "3"}, {"4"}}, wantDone: 5, wantAfter: true},
		// A delete waiting in a batch holds the cursor before it, even
		// when later puts were tried; the final flush releases it.
		{name: "a put stopped behind a waiting delete", steps: "PDPX", sends: 9, wantSent: [][]string{{"1"}}, wantDone: 3, wantAfter: true},
		// The deadline comes before the final batch: the cursor stays
		// before the first delete still waiting.
		{name: "the last batch cut by the deadline", steps: "PDDPD", sends: 1, wantSent: [][]string{{"1", "2"}}, wantDone: 4, wantAfter: false},
		{name: "a full batch cut by the deadline", steps: "PDDP", sends: 0, wantDone: 1, wantAfter: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sent [][]string
			b := deleteBatcher{size: 2, send: func(_ context.Context, dels []Delete) bool {
				if len(sent) == tt.sends {
					return false
				}
				var names []string
				for _, d := range dels {
					names = append(names, d.Name)
				}
				sent = append(sent, names)
				return true
			}}
			ctx := context.Background()
		walk:
			for i, kind := range tt.steps {
				switch kind {
				case 'D':
					if !b.queue(ctx, i, Delete{Name: fmt.Sprint(i)}) {
						break walk
					}
				case 'P':
					b.tried(i)
				case 'X':
					break walk
				}
			}
			after := b.flush(ctx)
			if diff := cmp.Diff(tt.wantSent, sent); diff != "" {
				t.Errorf("batches sent (-want +got):\n%s", diff)
			}
			if b.done != tt.wantDone || after != tt.wantAfter {
				t.Errorf("done = %d, final flush = %t; want %d, %t", b.done, after, tt.wantDone, tt.wantAfter)
			}
		})
	}
}

func TestNextStep(t *testing.T) {
	incomplete := func(cursor string) Result { return Result{Incomplete: true, Cursor: cursor} }
	tests := []struct {
		name  string
		req   Request
		res   Result
		queue bool
		want  Step
	}{
		{"complete", Request{Trigger: TriggerSchedule}, Result{}, true, StepDone},
		{"direct, first pass, no progress", Request{Trigger: TriggerDirect}, incomplete(""), true, StepFail},
		{"direct, later pass, no progress", Request{Trigger: TriggerResume, Origin: TriggerDirect, Pass: 2, Cursor: "b"}, incomplete("b"), true, StepStuck},
		{"schedule, no progress", Request{Trigger: TriggerSchedule}, incomplete(""), true, StepStuck},
		{"cursor moved back", Request{Trigger: TriggerResume, Origin: TriggerSchedule, Pass: 3, Cursor: "c"}, incomplete("b"), true, StepStuck},
		{"no queue", Request{Trigger: TriggerSchedule}, incomplete("a"), false, StepNoQueue},
		{"a state change", Request{Trigger: TriggerRunning, InstanceID: "i-0123456789abcdef0"}, incomplete("a"), true, StepOneInstance},
		{"schedule", Request{Trigger: TriggerSchedule}, incomplete("a"), true, StepContinue},
		{"resumed direct", Request{Trigger: TriggerResume, Origin: TriggerDirect, Pass: 2, Cursor: "a"}, incomplete("b"), true, StepContinue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextStep(tt.req, tt.res, tt.queue); got != tt.want {
				t.Errorf("NextStep(%+v, %+v, %t) = %q, want %q", tt.req, tt.res, tt.queue, got, tt.want)
			}
		})
	}
}

// A continuation carries the chain's origin and the next pass.
func TestNextResumeCarriesTheChain(t *testing.T) {
	first := Request{Trigger: TriggerSchedule, Selector: Selector{NamePattern: "win-*"}, TopicARN: "arn:aws:sns:us-east-1:123456789012:t"}
	m := NextResume(first, Result{Cursor: "a"})
	if m.Trigger != TriggerSchedule || m.Pass != 2 || m.Cursor != "a" || m.NamePattern != "win-*" || m.TopicARN != first.TopicARN {
		t.Errorf("NextResume(first pass) = %+v, want origin schedule, pass 2, cursor a and the selection and topic", m)
	}
	resumed := Request{Trigger: TriggerResume, Origin: TriggerDirect, Pass: 4}
	if m := NextResume(resumed, Result{Cursor: "b"}); m.Trigger != TriggerDirect || m.Pass != 5 {
		t.Errorf("NextResume(pass 4 of a direct chain) = %+v, want origin direct, pass 5", m)
	}
}
