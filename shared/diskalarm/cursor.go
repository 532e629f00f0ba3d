package diskalarm

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The cursor: how a run that the deadline stops hands the rest on. A pass
// writes its plan's steps in alarm-name order after the cursor it was
// given (Plan.steps); the deleteBatcher keeps how far the writes got, so
// the cursor never passes a delete that still waits; the pass reports the
// last name tried (Result.Cursor); and the chain continues, with
// NextResume, only while that cursor moved strictly forward
// (Result.Progressed), so it always ends.

// Progressed reports whether the run's cursor moved strictly forward from
// the one it started after (from; "" for a first pass). A chain continues
// only while it does, so it always ends: a run whose writes were all cut
// by the deadline, or that spent its time reading, hands on no cursor.
func (r Result) Progressed(from string) bool { return r.Cursor != "" && r.Cursor > from }

// step is one write of a plan, in the order a run makes them.
type step struct {
	name string
	put  *Put
	del  *Delete
}

// steps returns the plan's writes in alarm-name order, starting after
// cursor: a resumed run continues where the last one stopped, and since a
// continuation is queued only when the cursor moved strictly forward
// (Result.Progressed), a chain of resumed runs always ends.
// Changes that sort before the cursor wait for the next scheduled run.
func (p Plan) steps(cursor string) []step {
	var out []step
	for i := range p.Puts {
		if p.Puts[i].Alarm.Name > cursor {
			out = append(out, step{name: p.Puts[i].Alarm.Name, put: &p.Puts[i]})
		}
	}
	for i := range p.Deletes {
		if p.Deletes[i].Name > cursor {
			out = append(out, step{name: p.Deletes[i].Name, del: &p.Deletes[i]})
		}
	}
	slices.SortFunc(out, func(a, b step) int { return strings.Compare(a.name, b.name) })
	return out
}

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

// Chain returns the trigger that started q's chain and q's pass in it.
func (q Request) Chain() (origin string, pass int) {
	return cmp.Or(q.Origin, q.Trigger), max(q.Pass, 1)
}

// NextResume returns the message that continues req after res: the
// chain's origin, selection and topic, res's cursor, and the next pass.
func NextResume(req Request, res Result) Resume {
	origin, pass := req.Chain()
	var scopeAt time.Time
	if origin == TriggerSchedule {
		scopeAt = res.ScopeAt
	}
	return Resume{
		Kind: ResumeKind, Trigger: origin,
		NamePattern: req.Selector.NamePattern, Tag: req.Selector.Tag.String(), TopicARN: req.TopicARN,
		Cursor: res.Cursor, Pass: pass + 1,
		ScopeAt: scopeAt,
	}
}

// Step is what follows a pass: the decision on whether a run continues,
// ends or fails.
type Step string

// The steps after a pass.
const (
	// StepDone: the pass tried every write.
	StepDone Step = "done"
	// StepFail: a direct invocation's first pass could try no write before
	// the deadline. A person waits for the answer: it is an error saying
	// why (Result.NoProgress).
	StepFail Step = "no progress"
	// StepStuck: the cursor did not move forward (no write could be tried,
	// or none it tried could be counted). Another pass would start from
	// the same cursor, so the chain ends here rather than run forever; the
	// next scheduled run tries again.
	StepStuck Step = "cursor did not move"
	// StepNoQueue: no continuation queue is configured; the next scheduled
	// run continues.
	StepNoQueue Step = "no queue"
	// StepOneInstance: a state change's run covers one instance. A
	// continuation of it would not decode (DecodeResume takes schedule or
	// direct) and would be reported as tampering; the schedule covers it.
	StepOneInstance Step = "state change"
	// StepContinue: queue NextResume.
	StepContinue Step = "continue"
)

// NextStep decides what follows the pass of req that returned res; queue
// says whether a continuation queue is configured.
func NextStep(req Request, res Result, queue bool) Step {
	origin, pass := req.Chain()
	switch {
	case !res.Incomplete:
		return StepDone
	case !res.Progressed(req.Cursor) && origin == TriggerDirect && pass == 1:
		return StepFail
	case !res.Progressed(req.Cursor):
		return StepStuck
	case !queue:
		return StepNoQueue
	case origin != TriggerSchedule && origin != TriggerDirect:
		return StepOneInstance
	}
	return StepContinue
}

// NoProgress is the error of a direct invocation that the deadline
// stopped before it could try a single write (StepFail). It names the time
// the invocation had and the margin kept, so the operator knows the
// timeout is the cure.
func (r Result) NoProgress() error {
	return fmt.Errorf("%w: no alarm write could be tried before the deadline (%d left to write): the invocation had %s, kept %s of it to finish, and its reads and paced writes needed more than the rest; raise the function's timeout",
		ErrOutOfTime, r.Left, r.Given.Round(time.Second), r.Margin.Round(time.Millisecond))
}
