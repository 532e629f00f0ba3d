package main

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
)

var (
	//go:embed page.css
	pageCSS string

	// The page has no script at all, and its one style element is allowed
	// by hash rather than 'unsafe-inline'. Forms may post only back here;
	// no other site may frame the page (clickjacking on the Approve button).
	contentSecurityPolicy = "default-src 'none'; style-src '" + styleHash(pageCSS) + "'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

func styleHash(css string) string {
	sum := sha256.Sum256([]byte(css))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

// page is what an answer shows; nil and empty parts are left out.
type page struct {
	Status         int
	Title          string
	Lead           []string
	Outcome        *outcome
	Reason         string
	KeyNotes       []string
	StillShared    []approval.AMI // after a failure or refusal: could not be undone
	MaybeShared    []approval.AMI // while sharing: may carry the permission already
	Unshared       []approval.AMI // after a failure or refusal: shared, then undone
	Request        *approval.Request
	Expires        string
	Decided        string
	TargetsHeading string
	Form           *form
	// Step is the workflow step a request is bound to (page_step.go); the
	// page then names no targets: the workflow's distribution does.
	Step *stepView
}

type outcome struct{ Class, Text string }

type form struct {
	Token  string
	Retry  bool // a failed approval: offer to share again
	Finish bool // a stopped approval: offer to finish it
	// Step: the buttons resume or stop a workflow step; Resend offers to
	// send the recorded decision (approve or reject) again.
	Step   bool
	Resend string
}

// requestPage shows a request: the two buttons while it is undecided, the
// recorded decision after.
func requestPage(r approval.Request, t approval.Token, now time.Time) page {
	if r.Decided() {
		return decidedPage(r, t, now)
	}
	var f *form
	if _, voted := r.VoteOf(r.Approver.Email); !voted || r.Approver.Email == "" {
		f = &form{Token: t.Secret()}
	}
	return page{
		Status: http.StatusOK,
		Title:  "Approve sharing of this AMI build?",
		Lead: []string{
			"EC2 Image Builder built the AMIs below. Approve shares each of them, in its Region, with the targets listed; Reject shares nothing.",
		},
		Request:        &r,
		Expires:        fmt.Sprintf("%s (in %s)", r.LinkExpiresAt.UTC().Format(time.RFC1123), approval.Roughly(r.LinkExpiresAt.Sub(now))),
		TargetsHeading: "Shared with on approval",
		Form:           f,
	}
}

// resultPage shows what a POST came to. The AMI names and creation dates
// are EC2's, from the checks the POST ran.
func resultPage(res approval.Result, t approval.Token, now time.Time) page {
	r := res.Request
	r.AMIs = slices.Clone(r.AMIs)
	for i, a := range r.AMIs {
		for _, c := range res.Checks {
			if c.AMI.Region == a.Region && c.AMI.ID == a.ID && c.Name != "" {
				r.AMIs[i].Name, r.AMIs[i].Created = c.Name, c.Created
			}
		}
	}
	p := decidedPage(r, t, now)
	if res.Repeated {
		p.Lead = append([]string{"This request was decided before: nothing was done now. The recorded decision is below."}, p.Lead...)
	}
	return p
}

func decidedPage(r approval.Request, t approval.Token, now time.Time) page {
	p := page{
		Status:         http.StatusOK,
		Request:        &r,
		Reason:         r.Reason,
		Decided:        fmt.Sprintf("%s on %s", approval.PastTense(r.Decision), r.DecidedAt.UTC().Format(time.RFC1123)),
		TargetsHeading: "Shared with",
	}
	switch r.Outcome {
	case approval.OutcomeShared:
		p.Title = "AMI build approved and shared"
		p.Outcome = &outcome{"shared", "Approved. Every AMI below is shared, and the target accounts were told."}
		p.KeyNotes = r.KeyNotes
	case approval.OutcomeRejected:
		p.Title, p.TargetsHeading = "AMI build rejected", "Not shared with"
		p.Outcome = &outcome{"rejected", "Rejected. Nothing was shared."}
	case approval.OutcomeRefused:
		p.Title, p.TargetsHeading = "AMI build not shared", "Not shared with"
		p.Outcome = &outcome{"refused", "Approved, but not shared: the AMIs cannot be shared as they are. " + sharedNow(r)}
		p.StillShared, p.Unshared = r.Shared, r.Unshared
	case approval.OutcomeFailed:
		p.Title, p.TargetsHeading = "Sharing did not finish", "To be shared with"
		p.Outcome = &outcome{"failed", "Approved, but sharing did not finish. " + sharedNow(r) + " Retry below."}
		p.StillShared, p.Unshared = r.Shared, r.Unshared
		p.Status = http.StatusBadGateway
		if !r.Expired(now) {
			p.Form = &form{Token: t.Secret(), Retry: true}
		}
	case approval.OutcomeSharing:
		if !r.Stopped(now) {
			p.Title, p.TargetsHeading = "Sharing in progress", "Being shared with"
			p.Outcome = &outcome{"sharing", "Approved. Sharing is in progress: reload this page in a minute."}
			p.MaybeShared = r.Shared
			break
		}
		// Its invocation stopped part way: say what may be shared, and let
		// the approver finish it now rather than wait for the sweeper.
		p.Title, p.TargetsHeading = "Sharing stopped before it finished", "To be shared with"
		p.Outcome = &outcome{"stopped", "Approved, but sharing stopped before it finished, and the target accounts have not been told. " +
			"Finish sharing below, or wait: the sweeper finishes or reverts it within minutes."}
		p.MaybeShared = r.Shared
		if !r.Expired(now) {
			p.Form = &form{Token: t.Secret(), Retry: true, Finish: true}
		}
	}
	return p
}

// sharedNow says what a failed or refused approval left shared: nothing,
// unless undoing an earlier share failed (see approval.Decider.share).
func sharedNow(r approval.Request) string {
	switch {
	case len(r.Shared) > 0:
		return "Some AMIs are still shared: undoing their sharing failed (listed below)."
	case len(r.Unshared) > 0:
		return "Nothing is shared now: the AMIs shared before it stopped were unshared again (listed below)."
	default:
		return "Nothing was shared."
	}
}

// statusPage is a page that says only what its status says.
func statusPage(status int) page {
	p := page{Status: status}
	switch status {
	case http.StatusBadRequest:
		p.Title = "Request not understood"
		p.Lead = []string{"Open the link from the email again, and decide with the buttons on its page."}
	case http.StatusNotFound:
		p.Title = "Link not valid"
		p.Lead = []string{"This approval link is not valid. Check that you opened the whole link from the email."}
	case http.StatusMethodNotAllowed:
		p.Title = "Method not allowed"
		p.Lead = []string{"This page answers GET and POST only."}
	case http.StatusGone:
		p.Title = "Link expired"
		p.Lead = []string{"This approval link has expired, and nothing was shared. A new build sends a new request."}
	default:
		p.Title = "Please try again"
		p.Lead = []string{"The request could not be completed just now. Try again in a minute: the page then shows any decision that was recorded."}
	}
	return p
}

// render writes the page with the headers every answer carries.
func render(p page) events.APIGatewayV2HTTPResponse {
	return events.APIGatewayV2HTTPResponse{
		StatusCode: p.Status,
		Headers: map[string]string{
			"Content-Type":            "text/html; charset=utf-8",
			"Content-Security-Policy": contentSecurityPolicy,
			// The token is in the URL: keep the page out of caches, and the
			// URL out of Referer headers.
			"Cache-Control":              "no-store",
			"Referrer-Policy":            "no-referrer",
			"X-Content-Type-Options":     "nosniff",
			"X-Frame-Options":            "DENY",
			"Cross-Origin-Opener-Policy": "same-origin",
			"Strict-Transport-Security":  "max-age=63072000",
			"X-Robots-Tag":               "noindex, nofollow",
		},
		Body: p.html(),
	}
}
