package approval

import (
	"errors"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// DefaultReminderLead is how long before a waiting step times out its
// approvers are reminded, when STEP_REMINDER_LEAD does not say.
const DefaultReminderLead = 12 * time.Hour

// Reminded is one reminder the sweep sent (or tried to).
type Reminded struct {
	Ref             string `json:"ref"`
	StepExecutionID string `json:"stepExecutionId"`
	TimesOutAt      string `json:"stepTimesOutAt"`
	MessageID       string `json:"messageId,omitempty"`
	Error           string `json:"error,omitempty"`
}

// remind emails the approvers once about each undecided step-bound request
// whose step times out soon (sweepSteps lists them). "Once" rests on a
// conditional write made before publishing (reminderSentAt, only while none
// is set and no decision is recorded): two sweeps cannot both send, and a
// request decided meanwhile gets none. A failed publish gives the mark back
// for the next sweep.
func (d *Decider) remind(run *deadline.Run, now time.Time, toRemind stepRequests) []Reminded {
	work := run.Work()
	var out []Reminded
	for i, sr := range toRemind {
		if work.Err() != nil {
			d.logger().WarnContext(work, "out of time; the next sweep reminds the rest", "left", len(toRemind)-i)
			break
		}
		req, st := sr.Request, sr.Step
		r := Reminded{Ref: req.Ref, StepExecutionID: st.ExecutionID, TimesOutAt: stamp(st.TimesOutAt)}
		// A reminder goes out only for a request the request function
		// sealed: one without MACs (pending since the version before
		// sealing) gets none, and one that does not verify is reported.
		if unsealed, err := d.Store.verify(work, req, &st); unsealed || err != nil {
			if tamper, ok := tamperOf(err); ok {
				d.reportTamper(run, req.id, tamper)
				r.Error = "not reminded: " + err.Error()
				out = append(out, r)
			} else if err != nil {
				r.Error = err.Error()
				out = append(out, r)
			} else {
				d.logger().InfoContext(work, "no reminder for a request made before records were sealed", "ref", req.Ref)
			}
			continue
		}
		if err := d.Store.markReminded(work, req, now); errors.Is(err, errConflict) {
			continue // reminded by another sweep, or decided meanwhile
		} else if err != nil {
			r.Error = err.Error()
			out = append(out, r)
			continue
		}
		subject, body := stepReminderEmail(req, st, now)
		id, err := notify.Publish(work, d.SNS, d.ApproverTopicARN, notify.Message{Subject: subject, Body: body})
		if err != nil {
			r.Error = err.Error()
			done, cancelDone := run.Finish()
			if uerr := d.Store.unmarkReminded(done, req, now); uerr != nil {
				d.logger().ErrorContext(work, "reminder failed and not given back: none will be sent", "ref", req.Ref, "error", uerr.Error())
			}
			cancelDone()
			out = append(out, r)
			continue
		}
		r.MessageID = id
		d.logger().InfoContext(work, "reminder sent", "ref", req.Ref, "stepExecutionId", st.ExecutionID, "stepTimesOutAt", r.TimesOutAt)
		out = append(out, r)
	}
	return out
}
