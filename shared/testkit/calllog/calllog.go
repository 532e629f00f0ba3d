// Package calllog is the record a loopback fake keeps of the calls it
// received, for tests to count and inspect: the log wirefake.Server
// carries, so every wire fake (Health, CodePipeline, Image Builder) counts
// its calls the same way.
package calllog

import "sync"

// Log records calls of type C. It is safe for concurrent use; a fake embeds
// it, so Calls and Count are the fake's.
type Log[C any] struct {
	op    func(C) string
	mu    sync.Mutex
	calls []C
}

// New returns an empty log; op names a call's operation.
func New[C any](op func(C) string) *Log[C] { return &Log[C]{op: op} }

// Add records c and returns how many calls are recorded now.
func (l *Log[C]) Add(c C) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	return len(l.calls)
}

// Calls returns the recorded calls of op, or every call with op "".
func (l *Log[C]) Calls(op string) []C {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []C
	for _, c := range l.calls {
		if op == "" || l.op(c) == op {
			out = append(out, c)
		}
	}
	return out
}

// Count returns how many calls of op were recorded ("" counts all).
func (l *Log[C]) Count(op string) int { return len(l.Calls(op)) }

// Reset forgets every recorded call.
func (l *Log[C]) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}
