package approval

import (
	"fmt"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// stepApprovalEmail is the approver's email for a build paused at a
// workflow's WaitForAction step: the build, the step and its message, when
// the step times out, and the link. Approving resumes the workflow, whose
// own distribution shares the AMIs; rejecting stops it.
func stepApprovalEmail(req Request, st Step, link string, now time.Time) (subject, body string) {
	subject = notify.Subject("Approve AMI build " + buildLabel(req.ImageName, req.Version) + ": paused, waiting for you")
	var b strings.Builder
	fmt.Fprintf(&b, "An EC2 Image Builder workflow paused this build at its WaitForAction step and waits for your decision.\n\n")
	stepFacts(&b, req, st)
	fmt.Fprintf(&b, "Step times out: %s (in %s). If nobody decides by then, the build fails.\n", st.TimesOutAt.UTC().Format(time.RFC1123), Roughly(st.TimesOutAt.Sub(now)))
	if len(req.AMIs) > 0 {
		fmt.Fprintf(&b, "\nAMIs so far (as Image Builder lists them, named as EC2 reports them):\n")
		for _, a := range req.AMIs {
			fmt.Fprintf(&b, "  %s\n", amiLine(a))
		}
	}
	fmt.Fprintf(&b, "\nApprove resumes the workflow: its next steps (the distribution) share the AMIs as the workflow says.\n")
	fmt.Fprintf(&b, "Reject stops the step, and the build ends as the workflow's onFailure says.\n\n")
	fmt.Fprintf(&b, "Review and decide:\n%s\n\n", link)
	fmt.Fprintf(&b, "Opening the link changes nothing: the page shows the build with an Approve and a Reject button,\n")
	fmt.Fprintf(&b, "and only pressing one of them decides. The link works once; do not forward this email.\n")
	return subject, b.String()
}

// stepReminderEmail reminds the approvers that a paused build is still
// waiting and times out soon. It carries no link: only the token's hash is
// stored, so the link is the one in the first email, named by its request.
func stepReminderEmail(req Request, st Step, now time.Time) (subject, body string) {
	subject = notify.Subject("Reminder: AMI build " + buildLabel(req.ImageName, req.Version) + " times out in " + Roughly(st.TimesOutAt.Sub(now)))
	var b strings.Builder
	fmt.Fprintf(&b, "This build is still paused at its WaitForAction step, and nobody has decided yet.\n")
	fmt.Fprintf(&b, "Step times out: %s (in %s). If nobody decides by then, the build fails.\n\n", st.TimesOutAt.UTC().Format(time.RFC1123), Roughly(st.TimesOutAt.Sub(now)))
	stepFacts(&b, req, st)
	fmt.Fprintf(&b, "\nDecide with the link in the email \"Approve AMI build %s\" of %s (request %s).\n",
		oneLine(buildLabel(req.ImageName, req.Version)), req.CreatedAt.UTC().Format(time.RFC1123), req.Ref)
	fmt.Fprintf(&b, "This reminder is sent once.\n")
	return subject, b.String()
}

func stepFacts(b *strings.Builder, req Request, st Step) {
	fmt.Fprintf(b, "Build:   %s\n", oneLine(req.ImageARN))
	fmt.Fprintf(b, "Step:    %s (%s)\n", oneLine(st.Name), oneLine(st.ExecutionID))
	if st.Message != "" {
		fmt.Fprintf(b, "Message: %s\n", oneLine(st.Message))
	}
	fmt.Fprintf(b, "Request: %s\n", req.Ref)
}
