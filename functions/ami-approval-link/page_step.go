package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
)

// stepView is the workflow step a request is bound to, as the page shows it.
type stepView struct {
	Name, ExecutionID, Message, TimesOut string
}

// stepPage shows a request bound to a workflow step: the two buttons while
// the step may still be acted on, what came of the decision after, and
// plainly (200, not an error page) that nothing can be done once the step
// has timed out or was acted on elsewhere.
func stepPage(r approval.Request, st approval.Step, t approval.Token, now time.Time, repeated bool) page {
	p := page{
		Status:  http.StatusOK,
		Request: &r,
		Reason:  r.Reason,
		Step: &stepView{Name: st.Name, ExecutionID: st.ExecutionID, Message: st.Message,
			TimesOut: fmt.Sprintf("%s (%s)", st.TimesOutAt.UTC().Format(time.RFC1123), relative(st.TimesOutAt, now))},
	}
	if r.Decided() {
		p.Decided = fmt.Sprintf("%s on %s", approval.PastTense(r.Decision), r.DecidedAt.UTC().Format(time.RFC1123))
	}
	switch {
	case !r.Decided() && !now.Before(st.TimesOutAt):
		p.Title = "The approval step of this build timed out"
		p.Outcome = &outcome{"refused", "Nobody decided before the workflow step timed out: Image Builder failed the build, and nothing can be sent to it now."}
	case !r.Decided():
		p.Title = "Resume this paused build?"
		p.Lead = []string{
			"An EC2 Image Builder workflow paused this build at its WaitForAction step. Approve resumes the workflow, whose distribution then shares the AMIs as the workflow says; Reject stops it.",
		}
		p.Expires = fmt.Sprintf("%s (in %s)", r.LinkExpiresAt.UTC().Format(time.RFC1123), approval.Roughly(r.LinkExpiresAt.Sub(now)))
		p.Form = &form{Token: t.Secret(), Step: true}
	case r.Outcome == approval.OutcomeResumed:
		p.Title = "Build approved: the workflow resumed"
		p.Outcome = &outcome{"shared", "Approved. Image Builder resumed the workflow; its distribution shares the AMIs as the workflow says."}
	case r.Outcome == approval.OutcomeStopped:
		p.Title = "Build rejected: the workflow stopped"
		p.Outcome = &outcome{"rejected", "Rejected. Image Builder stopped the workflow step; this approval distributes nothing."}
	case r.Outcome == approval.OutcomeTimedOut:
		p.Title = "The approval step of this build had timed out"
		p.Outcome = &outcome{"refused", "Your decision is recorded, but the workflow step had already timed out: nothing was sent to Image Builder."}
	case r.Outcome == approval.OutcomeClosed:
		p.Title = "The step was already decided elsewhere"
		p.Outcome = &outcome{"refused", "Your decision is recorded, but the workflow step had already been resumed or stopped elsewhere: nothing was sent."}
	default: // OutcomeSending
		p.Title = "Sending the decision to Image Builder"
		p.Outcome = &outcome{"sharing", "The decision is recorded, but Image Builder has not confirmed it yet."}
		if now.Before(st.TimesOutAt) && !r.Expired(now) {
			p.Form = &form{Token: t.Secret(), Resend: r.Decision}
		}
	}
	if repeated {
		p.Lead = append([]string{"This request was decided before: nothing was sent now. The recorded decision is below."}, p.Lead...)
	}
	return p
}

// relative says when t is from now: "in 3 days" or "2 hours ago".
func relative(t, now time.Time) string {
	if t.After(now) {
		return "in " + approval.Roughly(t.Sub(now))
	}
	return approval.Roughly(now.Sub(t)) + " ago"
}
