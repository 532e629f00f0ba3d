package diskalarm

import "context"

// Outcome is one run of a request: its pass, what NextStep decided after
// it, the lines that say so, and the error the run ends in (the failed
// read, Result.NoProgress, or the hand-over that failed).
type Outcome struct {
	Result Result
	Step   Step
	Lines  []Line
	Err    error
	// Failed is the reason the pass failed before any write (FailedLine's
	// Msg), empty when it ran.
	Failed string
	// Passed is set when the pass ran, so that its counts are the run's.
	Passed bool
	// Pass is the request's pass in its chain.
	Pass int
}

// Count is one metric a run adds to: its name, the reason it is counted
// under ("" for none), and by how much.
type Count struct {
	Name   string
	Reason string
	N      int
}

// Counts is what the run adds to the function's metrics: the alarms its
// pass created, updated, deleted, left unchanged or kept, the writes that
// failed, a pass that resumed a chain, a continuation queued; or, for a
// pass that failed before any write, ReconcileRunsFailed under its reason.
func (o Outcome) Counts() []Count {
	if !o.Passed {
		return []Count{{Name: "ReconcileRunsFailed", Reason: o.Failed, N: 1}}
	}
	res := o.Result
	out := []Count{{Name: "AlarmsCreated", N: res.Created}, {Name: "AlarmsUpdated", N: res.Updated},
		{Name: "AlarmsDeleted", N: res.Deleted}, {Name: "AlarmsUnchanged", N: res.Unchanged},
		{Name: "AlarmsKept", N: res.Kept}, {Name: "AlarmWritesFailed", N: len(res.Failed)}}
	if o.Pass > 1 {
		out = append(out, Count{Name: "ContinuationPasses", N: 1})
	}
	if res.Continued {
		out = append(out, Count{Name: "ContinuationsQueued", N: 1})
	}
	return out
}

// Run makes one pass of req and does what NextStep decides: queue the rest
// on q (nil: no RESUME_QUEUE_URL), end the chain, or fail.
func (r *Reconciler) Run(ctx context.Context, req Request, q *Queue) Outcome {
	_, pass := req.Chain()
	res, err := r.Reconcile(ctx, req)
	if err != nil {
		line := FailedLine(req, err)
		return Outcome{Result: res, Lines: []Line{line}, Err: err, Failed: line.Msg, Pass: pass}
	}
	out := Outcome{Result: res, Passed: true, Pass: pass, Step: NextStep(req, res, q != nil)}
	switch out.Step {
	case StepFail:
		out.Err = res.NoProgress()
	case StepContinue:
		if out.Err = q.ContinueAfter(ctx, req, res); out.Err == nil {
			out.Result.Continued = true
		}
	}
	out.Lines = out.Step.Lines(req, out.Result, out.Err)
	return out
}
