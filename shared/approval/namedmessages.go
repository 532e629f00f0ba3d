package approval

import (
	"fmt"
	"html"
	"strings"

	"github.com/ebs-ops/lambda-suite/shared/mail"
)

// namedEmail is one named approver's email: the flow's text, told that the
// link is theirs alone and how many must approve, as text and as HTML.
// Neither carries an unsubscribe link (shared/mail: no contact list).
func namedEmail(a Approver, req Request, subject, text, link string) mail.Email {
	var b strings.Builder
	fmt.Fprintf(&b, "This link is yours alone, %s: it counts your decision, and no one else's.\n", a.Label())
	if req.Quorum > 1 {
		fmt.Fprintf(&b, "%d of the %d approvers must approve; any one rejection rejects.\n", req.Quorum, len(req.Approvers))
	}
	b.WriteString("\n")
	b.WriteString(text)
	body := b.String()
	h := html.EscapeString(body)
	h = strings.Replace(h, html.EscapeString(link), `<a href="`+html.EscapeString(link)+`">Review and decide</a>`, 1)
	return mail.Email{
		To: a.Email, Subject: subject, Text: body,
		HTML: "<!DOCTYPE html><html><body><pre style=\"font-family: sans-serif; white-space: pre-wrap\">" + h + "</pre></body></html>",
	}
}
