package main

import (
	"fmt"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
)

// writeApprovers writes a named request's approvers (APPROVERS): who
// approved, who is awaited, the quorum and the deadline, and which of
// them the link's holder is. An SNS-mode request has none: its page is
// as before.
func writeApprovers(w *pageWriter, r approval.Request) {
	if len(r.Approvers) == 0 {
		return
	}
	w.line(`<section class="note" aria-labelledby="approvers">`)
	w.line(`<h2 id="approvers">Approvers</h2>`)
	w.line(`<p id="quorum">%s of %s approvals needed; %s so far. Any one rejection rejects. Decide by %s.</p>`,
		fmt.Sprint(r.Quorum), fmt.Sprint(len(r.Approvers)), fmt.Sprint(len(r.Approvals())), r.LinkExpiresAt.UTC().Format(time.RFC1123))
	w.line(`<ul id="approver-list">`)
	for _, a := range r.Approvers {
		state := "awaited"
		if v, ok := r.VoteOf(a.Email); ok {
			state = approval.PastTense(v.Decision) + " on " + v.At.UTC().Format(time.RFC1123)
		}
		you := ""
		if a.Email == r.Approver.Email {
			you = " (you)"
		}
		w.line(`<li>%s%s: %s</li>`, a.Label(), you, state)
	}
	w.line("</ul>")
	w.line("</section>")
}

// pendingPage is a named request after an approval short of the quorum:
// counted (or counted before), nothing shared yet.
func pendingPage(res approval.Result, now time.Time) page {
	r := res.Request
	text := "Your approval is counted. Nothing is shared until enough approvers approve."
	if res.Repeated {
		text = "Your decision was counted before: it counts once. Nothing was done now."
	}
	return page{
		Status:         200,
		Title:          "Approval counted: waiting for more approvers",
		Outcome:        &outcome{"pending", text},
		Request:        &r,
		Expires:        fmt.Sprintf("%s (in %s)", r.LinkExpiresAt.UTC().Format(time.RFC1123), approval.Roughly(r.LinkExpiresAt.Sub(now))),
		TargetsHeading: "Shared with on approval",
	}
}
