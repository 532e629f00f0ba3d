package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/ebs-ops/lambda-suite/shared/approval"
)

// The page is written by plain Go rather than html/template: the template
// package finds methods by name through reflection, which turns off the
// linker's dead-code elimination for every exported method in the binary,
// and kept some 30 MB of unused SDK code in this function. The page's
// shape is reviewed as HTML in testdata/pages, and TestPagesEscapeEveryValue
// holds the one rule that makes this safe: markup comes only from this
// file's constant formats, and every value goes through escapeHTML.

// escapeHTML escapes a value for HTML text or a quoted attribute value,
// with exactly html/template's replacements: the five characters that can
// end a text or an attribute, '+' (against UTF-7 sniffing) and NUL.
var escapeHTML = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// pageWriter builds a page's HTML.
type pageWriter struct{ b strings.Builder }

// line writes format, a constant of this file, with each %s replaced by a
// value escaped with escapeHTML, and a newline.
func (w *pageWriter) line(format string, values ...string) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = escapeHTML.Replace(v)
	}
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

// html is the page's document.
func (p page) html() string {
	var w pageWriter
	w.b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n" +
		"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" +
		"<meta name=\"robots\" content=\"noindex, nofollow\">\n")
	w.line("<title>%s · AMI approval</title>", p.Title)
	// pageCSS is this function's own file, allowed by its hash (see
	// contentSecurityPolicy); it is never input.
	w.b.WriteString("<style>" + pageCSS + "</style>\n</head>\n<body>\n<main>\n")
	if p.Request != nil {
		w.line(`<p class="eyebrow">AMI approval · request %s</p>`, p.Request.Ref)
	} else {
		w.line(`<p class="eyebrow">AMI approval</p>`)
	}
	w.line("<h1>%s</h1>", p.Title)
	if p.Outcome != nil {
		w.line(`<p id="outcome" class="outcome outcome-%s" role="status">%s</p>`, p.Outcome.Class, p.Outcome.Text)
	}
	for _, l := range p.Lead {
		w.line("<p>%s</p>", l)
	}
	if p.Reason != "" {
		w.line(`<p class="reason"><strong>Why:</strong> %s</p>`, p.Reason)
	}
	p.writeNotes(&w)
	if p.Request != nil {
		writeApprovers(&w, *p.Request)
		p.writeBuild(&w, *p.Request)
	}
	if p.Form != nil {
		p.Form.write(&w)
	}
	w.b.WriteString("</main>\n</body>\n</html>\n")
	return w.b.String()
}

// writeNotes writes what an approval left shared, and the keys its
// targets need.
func (p page) writeNotes(w *pageWriter) {
	if len(p.StillShared) > 0 {
		w.line(`<section class="note" aria-labelledby="still-shared">`)
		w.line(`<h2 id="still-shared">Still shared</h2>`)
		w.line("<p>Undoing the sharing of these AMIs failed: the targets below can still launch them. Retry, or ask an operator to remove their launch permissions.</p>")
		writeAMIList(w, p.StillShared)
		w.line("</section>")
	}
	if len(p.MaybeShared) > 0 {
		w.line(`<section class="note" aria-labelledby="maybe-shared">`)
		w.line(`<h2 id="maybe-shared">May already be shared</h2>`)
		w.line("<p>Sharing of these AMIs had started: the targets below may be able to launch them now.</p>")
		writeAMIList(w, p.MaybeShared)
		w.line("</section>")
	}
	if len(p.Unshared) > 0 {
		list := make([]string, len(p.Unshared))
		for i, a := range p.Unshared {
			list[i] = "<code>" + escapeHTML.Replace(a.ID) + "</code> in " + escapeHTML.Replace(a.Region)
		}
		w.b.WriteString("<p>Shared, then unshared again: " + strings.Join(list, ", ") + ".</p>\n")
	}
	if len(p.KeyNotes) > 0 {
		w.line(`<section class="note" aria-labelledby="keys">`)
		w.line(`<h2 id="keys">The target accounts need these KMS keys</h2>`)
		w.line("<p>The AMIs' snapshots are encrypted with customer managed keys. The target accounts can launch the AMIs only once the key policies (or grants) let them use these keys:</p>")
		w.line("<ul>")
		for _, k := range p.KeyNotes {
			w.line("<li><code>%s</code></li>", k)
		}
		w.line("</ul>")
		w.line("</section>")
	}
}

func writeAMIList(w *pageWriter, amis []approval.AMI) {
	w.line("<ul>")
	for _, a := range amis {
		w.line("<li><code>%s</code> in %s</li>", a.ID, a.Region)
	}
	w.line("</ul>")
}

// writeBuild writes the request: the image, its AMIs as EC2 named them,
// the workflow step or the targets.
func (p page) writeBuild(w *pageWriter, r approval.Request) {
	w.line("<h2>Build</h2>")
	w.line("<dl>")
	w.line("<dt>Image</dt><dd><code>%s</code></dd>", r.ImageARN)
	if r.Decided() {
		w.line("<dt>Decided</dt><dd>%s</dd>", p.Decided)
	} else {
		w.line("<dt>Link expires</dt><dd>%s</dd>", p.Expires)
	}
	if st := p.Step; st != nil {
		w.line("<dt>Workflow step</dt><dd><code>%s</code> (<code>%s</code>)</dd>", st.Name, st.ExecutionID)
		if st.Message != "" {
			w.line("<dt>Step message</dt><dd>%s</dd>", st.Message)
		}
		w.line("<dt>Step times out</dt><dd>%s</dd>", st.TimesOut)
	}
	w.line("</dl>")
	w.line("<table>")
	w.line("<caption>AMIs (%s)</caption>", strconv.Itoa(len(r.AMIs)))
	w.line(`<thead><tr><th scope="col">AMI ID</th><th scope="col">Name (EC2)</th><th scope="col">Created (EC2)</th><th scope="col">Region</th></tr></thead>`)
	w.line("<tbody>")
	for _, a := range r.AMIs {
		var created string
		if !a.Created.IsZero() {
			created = a.Created.UTC().Format("2006-01-02 15:04 UTC")
		}
		w.line("<tr><td><code>%s</code></td><td>%s</td><td>%s</td><td>%s</td></tr>", a.ID, a.Name, created, a.Region)
	}
	w.line("</tbody>")
	w.line("</table>")
	if p.Step != nil {
		return // the workflow's distribution names the targets
	}
	w.line("<h2>%s</h2>", p.TargetsHeading)
	w.line("<ul>")
	for _, a := range r.Targets.Accounts {
		w.line("<li>Account <code>%s</code></li>", a)
	}
	for _, o := range r.Targets.Organizations {
		w.line("<li>Organization <code>%s</code></li>", o)
	}
	for _, ou := range r.Targets.OUs {
		w.line("<li>Organizational unit <code>%s</code></li>", ou)
	}
	w.line("</ul>")
}

// write writes the form: its buttons, and what pressing one means.
func (f form) write(w *pageWriter) {
	w.line(`<form method="post">`)
	w.line(`<input type="hidden" name="token" value="%s">`, f.Token)
	w.line(`<div class="actions">`)
	switch {
	case f.Resend != "":
		w.line(`<button type="submit" name="decision" value="%s" class="approve">Send the decision again</button>`, f.Resend)
	case f.Step:
		w.line(`<button type="submit" name="decision" value="approve" class="approve">Approve and resume</button>`)
		w.line(`<button type="submit" name="decision" value="reject" class="reject">Reject and stop</button>`)
	case f.Finish:
		w.line(`<button type="submit" name="decision" value="approve" class="approve">Finish sharing</button>`)
	case f.Retry:
		w.line(`<button type="submit" name="decision" value="approve" class="approve">Retry sharing</button>`)
	default:
		w.line(`<button type="submit" name="decision" value="approve" class="approve">Approve</button>`)
		w.line(`<button type="submit" name="decision" value="reject" class="reject">Reject</button>`)
	}
	w.line("</div>")
	switch {
	case f.Resend != "":
		w.line(`<p class="hint">Image Builder acts on a decision once: sending it again cannot resume or stop the step twice.</p>`)
	case f.Retry:
		w.line(`<p class="hint">Sharing again is safe: it shares every AMI, or undoes what it shared.</p>`)
	default:
		w.line(`<p class="hint">The first decision is final. It is recorded with your IP address and browser.</p>`)
	}
	w.line("</form>")
}
