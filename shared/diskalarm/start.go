package diskalarm

import "log/slog"

// Defaults is what the configuration gives a run that no operator shaped:
// the selection and the topic of the schedule's runs, of a state change's,
// and of the chains the schedule started.
type Defaults struct {
	Selector Selector
	TopicARN string
}

// Start is how an invocation, or a record on the continuation queue,
// starts: the request it runs or, when it runs nothing, the answer it
// gives; and the line that says why, if any.
type Start struct {
	Run     bool
	Request Request
	Answer  Result // when !Run
	Line    Line
	// Tampered: something on the continuation queue is not what the
	// function sealed (Untrusted); Line says what, and nothing it says is
	// acted on. The caller counts it (ContinuationsTampered), and that
	// metric's alarm tells the operational topic.
	Tampered bool
	// Retry: a record that did not run is handed out again by the queue.
	Retry bool
}

// StartOf decides how inv, a direct invocation, a state change or the
// schedule, starts. st is whether a chain is under way
// (Queue.StandingOf): only the schedule stands aside for one, since the
// chain covers the fleet, and it runs beside a lease that does not verify.
func StartOf(inv Invocation, d Defaults, st Standing) Start {
	switch inv.Kind {
	case KindDirect:
		topic := inv.TopicARN
		if topic == "" {
			topic = d.TopicARN
		}
		return run(Request{Trigger: TriggerDirect, Selector: Selector{NamePattern: inv.NamePattern}, TopicARN: topic})
	case KindStateChange:
		if inv.State != TriggerRunning && inv.State != TriggerTerminated {
			return Start{
				Answer: Result{Trigger: inv.State, Scope: "instance " + inv.InstanceID, Note: "only running and terminated change alarms"},
				Line:   info("state change ignored", slog.String("instanceId", inv.InstanceID), slog.String("state", inv.State)),
			}
		}
		// One request for both: a running instance that is selected gets
		// its alarms; a terminated one is gone, so its alarms go.
		return run(Request{Trigger: inv.State, Selector: d.Selector, InstanceID: inv.InstanceID, TopicARN: d.TopicARN})
	}
	if st.Aside {
		return Start{
			Answer: Result{Trigger: TriggerSchedule, Scope: "fleet", Note: "skipped: a resumed run is under way and covers the fleet"},
			Line:   info("scheduled run skipped: a resumed run is under way", slog.String("reason", string(st.Reason))),
		}
	}
	start := run(Request{Trigger: TriggerSchedule, Selector: d.Selector, TopicARN: d.TopicARN})
	if st.Untrusted != nil {
		start.Tampered = true
		start.Line = tampered("chain lease ignored: tampering: the continuation queue's lease is not one the function sealed", "", st.Untrusted)
	}
	return start
}

// tampered is the line of a tampering; messageID is the record's, if any.
func tampered(msg, messageID string, err error) Line {
	return failed(msg, err, slog.String("messageId", messageID))
}

func run(req Request) Start { return Start{Run: true, Request: req} }

// Resumed is the request that continues a chain, from its opened message:
// a chain the schedule started takes the configuration's selection and
// topic, as the schedule's own run does, never the message's copy; only a
// chain an operator started carries the operator's, under the seal.
func (d Defaults) Resumed(req Request) Request {
	if req.Origin == TriggerSchedule {
		req.Selector, req.TopicARN = d.Selector, d.TopicARN
	}
	return req
}

// ResumeOf decides what becomes of a record on the continuation queue,
// from what Queue.Open returned for it. A message the function did not
// seal, or sealed too long ago, is dropped and reported as tampering (a
// retry cannot fix it); one whose seal KMS could not check is kept for a
// retry, and nothing it says is acted on; any other runs, as Resumed.
func (d Defaults) ResumeOf(messageID string, req Request, err error) Start {
	switch {
	case Untrusted(err):
		return Start{Tampered: true,
			Line: tampered("continuation dropped: tampering: the message is not one the function sealed, and is not acted on", messageID, err)}
	case err != nil:
		return Start{Retry: true, Line: failed("continuation kept for a retry: its seal could not be checked", err, slog.String("messageId", messageID))}
	}
	return run(d.Resumed(req))
}
