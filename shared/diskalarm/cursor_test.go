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
