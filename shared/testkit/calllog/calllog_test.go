package calllog

import (
	"sync"
	"testing"
)

type call struct{ Op, Body string }

func TestLogCountsCallsByOperation(t *testing.T) {
	l := New(func(c call) string { return c.Op })
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			op := "GetImage"
			if i%2 == 1 {
				op = "ListImageBuildVersions"
			}
			l.Add(call{Op: op})
		}()
	}
	wg.Wait()
	if got := l.Count("GetImage"); got != 5 {
		t.Errorf("Count(GetImage) = %d, want 5", got)
	}
	if got := l.Count(""); got != 10 {
		t.Errorf("Count(\"\") = %d, want 10", got)
	}
	if n := l.Add(call{Op: "GetImage", Body: "last"}); n != 11 {
		t.Errorf("Add returned %d, want 11 calls recorded", n)
	}
	if got := l.Calls("GetImage"); len(got) != 6 || got[5].Body != "last" {
		t.Errorf("Calls(GetImage) = %+v, want 6 in order, the last one last", got)
	}
	l.Reset()
	if got := l.Count(""); got != 0 {
		t.Errorf("after Reset, Count = %d, want 0", got)
	}
}
