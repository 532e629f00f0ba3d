package diskalarm

import "context"

// deleteBatcher gathers the deletes of a pass into DeleteAlarms batches
// and keeps how far the pass got, so the cursor never moves past a delete
// that still waits. The pass walks its steps in order and tells the
// batcher of each: queue for a delete, tried for a put.
type deleteBatcher struct {
	size int // deletes per batch
	// send makes one DeleteAlarms call; false: ctx's deadline came first
	// and the batch still waits.
	send func(ctx context.Context, dels []Delete) bool

	pending []Delete // queued, not yet sent
	reached int      // steps[:reached] are tried or wait in pending
	done    int      // steps[:done] are all tried: the cursor may pass them
}

// queue adds step i, a delete, and sends the batch once it is full.
// false: a full batch could not be sent before ctx's deadline.
func (b *deleteBatcher) queue(ctx context.Context, i int, d Delete) bool {
	b.pending = append(b.pending, d)
	b.reached = i + 1
	if len(b.pending) == b.size {
		return b.flush(ctx)
	}
	return true
}

// tried records that step i, a put, was tried.
func (b *deleteBatcher) tried(i int) {
	b.reached = i + 1
	if len(b.pending) == 0 {
		b.done = b.reached
	}
}

// flush sends the pending deletes, if any. false: ctx's deadline came first
// and they still wait.
func (b *deleteBatcher) flush(ctx context.Context) bool {
	if len(b.pending) > 0 {
		if !b.send(ctx, b.pending) {
			return false
		}
		b.pending = nil
	}
	b.done = b.reached
	return true
}
