package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
)

var updatePages = flag.Bool("update-pages", false, "rewrite testdata/pages/*.html from the renderer")

// pageNow is the fixed "now" of the page fixtures.
var pageNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// pageToken is a well-formed token (32 zero bytes); it is in the pages' forms.
func pageToken(t *testing.T) approval.Token {
	t.Helper()
	tok, err := approval.ParseToken(strings.Repeat("A", 43))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pageRequest is a request as the page fixtures show it; text gives every
// field that comes from the request, EC2 or Image Builder its value, so a
// hostile text can be put in each.
func pageRequest(text func(field string) string) approval.Request {
	ami := func(n string) approval.AMI {
		return approval.AMI{Region: text("region " + n), ID: text("ami " + n), Name: text("name " + n)}
	}
	east, west := ami("east"), ami("west")
	east.Created = time.Date(2026, 5, 31, 23, 4, 5, 0, time.UTC) // west: from a request whose AMIs came from the message, no date
	return approval.Request{
		Ref:       text("ref"),
		ImageARN:  text("image arn"),
		ImageName: text("image name"),
		AMIs:      []approval.AMI{east, west},
		Targets: approval.Targets{
			Accounts:      []string{text("account 1"), text("account 2")},
			Organizations: []string{text("organization")},
			OUs:           []string{text("ou")},
		},
		CreatedAt:     pageNow.Add(-time.Hour),
		LinkExpiresAt: pageNow.Add(71 * time.Hour),
		KeyNotes:      []string{text("key note")},
	}
}

func pageStep(text func(string) string) approval.Step {
	return approval.Step{
		ExecutionID: text("step execution"), Name: text("step name"), Message: text("step message"),
		Region: "us-east-1", TimesOutAt: pageNow.Add(5 * time.Hour),
	}
}

// pageCase is one page the renderer draws, and the request fields it shows.
type pageCase struct {
	name  string
	page  func(text func(string) string, tok approval.Token) page
	shows []string
}

func decided(r approval.Request, decision, outcome string) approval.Request {
	r.Decision, r.Outcome, r.DecidedAt, r.UpdatedAt = decision, outcome, pageNow.Add(-10*time.Minute), pageNow.Add(-10*time.Minute)
	return r
}

var (
	amiFields     = []string{"ami east", "ami west", "region east", "region west", "name east", "name west"}
	requestFields = append([]string{"ref", "image arn"}, amiFields...)
	targetFields  = []string{"account 1", "account 2", "organization", "ou"}
	stepFields    = []string{"step execution", "step name", "step message"}
)

func fields(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

var pageCases = []pageCase{
	{"request", func(text func(string) string, tok approval.Token) page {
		return requestPage(pageRequest(text), tok, pageNow)
	}, fields(requestFields, targetFields)},
	{"shared", func(text func(string) string, tok approval.Token) page {
		r := decided(pageRequest(text), approval.Approve, approval.OutcomeShared)
		r.Shared = r.AMIs
		return decidedPage(r, tok, pageNow)
	}, fields(requestFields, targetFields, []string{"key note"})},
	{"shared-repeated", func(text func(string) string, tok approval.Token) page {
		r := decided(pageRequest(text), approval.Approve, approval.OutcomeShared)
		return resultPage(approval.Result{Request: r, Repeated: true}, tok, pageNow)
	}, fields(requestFields, targetFields)},
	{"rejected", func(text func(string) string, tok approval.Token) page {
		return decidedPage(decided(pageRequest(text), approval.Reject, approval.OutcomeRejected), tok, pageNow)
	}, fields(requestFields, targetFields)},
	{"refused", func(text func(string) string, tok approval.Token) page {
		r := decided(pageRequest(text), approval.Approve, approval.OutcomeRefused)
		r.Reason = text("reason")
		r.Shared, r.Unshared = r.AMIs[:1], r.AMIs[1:]
		return decidedPage(r, tok, pageNow)
	}, fields(requestFields, targetFields, []string{"reason"})},
	{"failed", func(text func(string) string, tok approval.Token) page {
		r := decided(pageRequest(text), approval.Approve, approval.OutcomeFailed)
		r.Reason, r.Unshared = text("reason"), r.AMIs
		return decidedPage(r, tok, pageNow)
	}, fields(requestFields, targetFields, []string{"reason"})},
	{"sharing", func(text func(string) string, tok approval.Token) page {
		r := decided(pageRequest(text), approval.Approve, approval.OutcomeSharing)
		r.UpdatedAt, r.Shared = pageNow, r.AMIs[:1]
		return decidedPage(r, tok, pageNow)
	}, fields(requestFields, targetFields)},
	{"stopped", func(text func(string) string, tok approval.Token) page {
		r := decided(pageRequest(text), approval.Approve, approval.OutcomeSharing)
		r.UpdatedAt, r.Shared = pageNow.Add(-time.Hour), r.AMIs[1:]
		return decidedPage(r, tok, pageNow)
	}, fields(requestFields, targetFields)},
	{"step-request", func(text func(string) string, tok approval.Token) page {
		return stepPage(pageRequest(text), pageStep(text), tok, pageNow, false)
	}, fields(requestFields, stepFields)},
	{"step-timed-out", func(text func(string) string, tok approval.Token) page {
		return stepPage(pageRequest(text), pageStep(text), tok, pageNow.Add(6*time.Hour), false)
	}, fields(requestFields, stepFields)},
	{"step-resumed-repeated", func(text func(string) string, tok approval.Token) page {
		return stepPage(decided(pageRequest(text), approval.Approve, approval.OutcomeResumed), pageStep(text), tok, pageNow, true)
	}, fields(requestFields, stepFields)},
	{"step-sending", func(text func(string) string, tok approval.Token) page {
		r := decided(pageRequest(text), approval.Reject, approval.OutcomeSending)
		r.Reason = text("reason")
		return stepPage(r, pageStep(text), tok, pageNow, false)
	}, fields(requestFields, stepFields, []string{"reason"})},
	{"status-400", func(func(string) string, approval.Token) page { return statusPage(http.StatusBadRequest) }, nil},
	{"status-404", func(func(string) string, approval.Token) page { return statusPage(http.StatusNotFound) }, nil},
	{"status-405", func(func(string) string, approval.Token) page { return statusPage(http.StatusMethodNotAllowed) }, nil},
	{"status-410", func(func(string) string, approval.Token) page { return statusPage(http.StatusGone) }, nil},
	{"status-503", func(func(string) string, approval.Token) page { return statusPage(http.StatusServiceUnavailable) }, nil},
}

// TestPagesAsReviewed renders every kind of page from fixed requests and
// compares it, byte for byte, with testdata/pages/<name>.html: the HTML an
// approver gets is reviewed there, and any change to it shows in the diff.
// -update-pages rewrites them.
func TestPagesAsReviewed(t *testing.T) {
	benign := func(field string) string {
		if strings.HasPrefix(field, "ami ") {
			return map[string]string{"ami east": "ami-0123456789abcdef0", "ami west": "ami-0fedcba9876543210"}[field]
		}
		if strings.HasPrefix(field, "region ") {
			return map[string]string{"region east": "us-east-1", "region west": "us-west-2"}[field]
		}
		return map[string]string{
			"ref": "req-3f9a1c", "image arn": "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.0/1",
			"name east": "golden-al2023 2026-06-01", "name west": "golden-al2023 2026-06-01 (copy)",
			"account 1": "111111111111", "account 2": "222222222222",
			"organization":   "arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5",
			"ou":             "arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456",
			"key note":       "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			"reason":         "AMI ami-0123456789abcdef0 in us-east-1 is not available (state pending); retry",
			"step execution": "step-0123456789abcdef0", "step name": "WaitForApproval",
			"step message": "Check the test report, then approve",
		}[field]
	}
	for _, tc := range pageCases {
		t.Run(tc.name, func(t *testing.T) {
			body := render(tc.page(benign, pageToken(t))).Body
			golden := filepath.Join("testdata", "pages", tc.name+".html")
			if *updatePages {
				if err := os.MkdirAll(filepath.Dir(golden), 0o750); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden) // #nosec G304 -- a fixed name under testdata
			if err != nil {
				t.Fatalf("%v (run with -update-pages to write it)", err)
			}
			if body != string(want) {
				t.Errorf("page differs from %s (run with -update-pages and review the diff):\n%s", golden, firstDifference(body, string(want)))
			}
		})
	}
}

func firstDifference(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < max(len(gl), len(wl)); i++ {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			return fmt.Sprintf("line %d:\n got: %s\nwant: %s", i+1, g, w)
		}
	}
	return "(same lines, different bytes)"
}

// TestPagesEscapeEveryValue puts markup, quotes, '&', '+' and a NUL into
// every value a page shows that came from a request, EC2 or Image Builder,
// and checks that each appears escaped as html/template escapes it, and
// that none of it survives as markup anywhere, in text or in an attribute.
func TestPagesEscapeEveryValue(t *testing.T) {
	const tail = `<x-hostile onclick=x>"'&+` + "\x00"
	const escapedTail = `&lt;x-hostile onclick=x&gt;&#34;&#39;&amp;&#43;` + "\uFFFD"
	hostile := func(field string) string { return field + tail }
	for _, tc := range pageCases {
		t.Run(tc.name, func(t *testing.T) {
			body := render(tc.page(hostile, pageToken(t))).Body
			if strings.Contains(body, "<x-hostile") || strings.Contains(body, "\x00") {
				t.Errorf("a hostile value survived as markup:\n%s", body)
			}
			for _, f := range tc.shows {
				if !strings.Contains(body, f+escapedTail) {
					t.Errorf("%s: not shown escaped (want %q in the page)", f, f+escapedTail)
				}
			}
		})
	}
}

// TestResendButtonCarriesOnlyADecision: the one attribute whose value comes
// from a stored record, the resend button's decision, is escaped too.
func TestResendButtonCarriesOnlyADecision(t *testing.T) {
	r := decided(pageRequest(func(string) string { return "x" }), `approve" formaction="https://evil.example`, approval.OutcomeSending)
	body := render(stepPage(r, pageStep(func(string) string { return "x" }), pageToken(t), pageNow, false)).Body
	if strings.Contains(body, `formaction="`) || !strings.Contains(body, `value="approve&#34; formaction=&#34;https://evil.example"`) {
		t.Errorf("the decision was not escaped in its attribute:\n%s", body)
	}
}
