package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// The placeholders in the sample events, replaced by what a test made.
const (
	sampleToken   = "c2FtcGxlIGFwcHJvdmFsIHRva2VuOiBub3QgcmVhbCE" // #nosec G101 -- a test token: "sample approval token: not real!"
	sampleAMIEast = "ami-0123456789abcdef0"
	sampleAMIWest = "ami-0fedcba9876543210"
	approvalURL   = "https://approvals.example.com/"
)

var linkPattern = regexp.MustCompile(`\?token=([A-Za-z0-9_-]{43})\n`)

// linkEvent reads a sample API Gateway request from events/, with its token
// (in the query or in the base64 form body) replaced.
func linkEvent(t *testing.T, name, token string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	req := sample.Event[events.APIGatewayV2HTTPRequest](t, "ami-approval-link", name)
	req.RawQueryString = strings.ReplaceAll(req.RawQueryString, sampleToken, token)
	if req.IsBase64Encoded {
		body, err := base64.StdEncoding.DecodeString(req.Body)
		if err != nil {
			t.Fatalf("%s: body: %v", name, err)
		}
		req.Body = base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(body), sampleToken, token)))
	}
	return req
}

// requestEvent reads a sample Image Builder message with its AMI IDs
// replaced, as the request function gets it from this account's Image
// Builder (approvaltest.Env.Own).
func (f *fixture) requestEvent(t *testing.T, name string, amis map[string]string) approval.Image {
	t.Helper()
	s := f.env.Own(string(sample.Bytes(t, "ami-approval-request", name)))
	for from, to := range amis {
		s = strings.ReplaceAll(s, from, to)
	}
	var ev events.SNSEvent
	if err := json.Unmarshal([]byte(s), &ev); err != nil {
		t.Fatal(err)
	}
	im, err := approval.ParseImage([]byte(ev.Records[0].SNS.Message))
	if err != nil {
		t.Fatal(err)
	}
	return im
}

type fixture struct {
	env      *approvaltest.Env
	calls    *awstest.Calls
	h        *handler
	requests *approval.Requester
	// role is the function's role, whose Config its clients are built on.
	role *iam.Function
}

func newFixture(t *testing.T, url string) *fixture { return newFixtureWith(t, url, nil) }

// newFixtureWith is newFixture with the function's clients built on
// wrap(config), such as a config whose calls go through injected faults.
func newFixtureWith(t *testing.T, url string, wrap func(aws.Config) aws.Config) *fixture {
	t.Helper()
	env := approvaltest.New(t)
	calls := awstest.NewCalls()
	// The function's calls run under its role, as infra/sam writes it.
	role := env.As(t, approvaltest.LinkFunction)
	fnCfg := role.Config.Copy()
	if wrap != nil {
		fnCfg = wrap(fnCfg)
	}
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	s := env.Settings(url)
	decider := approval.NewDecider(fnCfg, s, log)
	decider.Builds = env.Builds(fnCfg)
	// The workflow mode is on, as deployed: every SNS-flow test here also
	// shows that it leaves that flow as it was.
	return &fixture{
		env:   env,
		calls: calls,
		role:  role,
		h:     &handler{decider: decider, log: log},
		// The request function's side (setup, as the admin), to make
		// requests as it does.
		requests: &approval.Requester{
			Store:  env.Store(env.Cfg),
			Builds: env.Builds(env.Cfg), EC2: env.Names(env.Cfg),
			SNS: sns.NewFromConfig(env.Cfg), ApproverTopicARN: s.ApproverTopicARN,
			Targets: s.Targets, ApprovalURL: s.ApprovalURL, LinkTTL: s.LinkTTL, Log: log,
		},
	}
}

// request makes the approval request of a build, which Image Builder lists
// with the message's AMIs, and returns the token from its email.
func (f *fixture) request(t *testing.T, im approval.Image) string {
	t.Helper()
	f.env.Built(im.ARN, im.AMIs...)
	if _, err := f.requests.Handle(context.Background(), im); err != nil {
		t.Fatalf("make request: %v", err)
	}
	return f.emailedToken(t)
}

// emailedToken reads the one approver email and returns its link's token.
func (f *fixture) emailedToken(t *testing.T) string {
	t.Helper()
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("approver emails = %d, want 1", len(mails))
	}
	m := linkPattern.FindStringSubmatch(mails[0].Body)
	if m == nil {
		t.Fatalf("no link in the email:\n%s", mails[0].Body)
	}
	return m[1]
}

// singleRegion makes one golden AMI in us-east-1 and its approval request.
func (f *fixture) singleRegion(t *testing.T) (ami, token string) {
	t.Helper()
	im := f.requestEvent(t, "available-single-region.json", nil)
	ami = approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "golden-al2023 2026-06-01")
	im = f.requestEvent(t, "available-single-region.json", map[string]string{sampleAMIEast: ami})
	return ami, f.request(t, im)
}

func (f *fixture) serve(t *testing.T, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := f.h.Handle(context.Background(), req)
	if err != nil {
		t.Fatalf("Handle returned an error (API Gateway would answer a bare 500): %v", err)
	}
	return resp
}

var (
	titlePattern   = regexp.MustCompile(`<title>([^<]*) · AMI approval</title>`)
	outcomePattern = regexp.MustCompile(`<p id="outcome" class="outcome outcome-([a-z]+)"`)
)

func pageTitle(resp events.APIGatewayV2HTTPResponse) string {
	if m := titlePattern.FindStringSubmatch(resp.Body); m != nil {
		return m[1]
	}
	return ""
}

func pageOutcome(resp events.APIGatewayV2HTTPResponse) string {
	if m := outcomePattern.FindStringSubmatch(resp.Body); m != nil {
		return m[1]
	}
	return ""
}

// checkHeaders checks what every answer must carry, whatever its status.
func checkHeaders(t *testing.T, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	for name, want := range map[string]string{
		"Cache-Control":          "no-store",
		"Referrer-Policy":        "no-referrer",
		"Content-Type":           "text/html; charset=utf-8",
		"X-Content-Type-Options": "nosniff",
	} {
		if got := resp.Headers[name]; got != want {
			t.Errorf("header %s = %q, want %q", name, got, want)
		}
	}
	csp := resp.Headers["Content-Security-Policy"]
	for _, want := range []string{"default-src 'none'", "frame-ancestors 'none'", "form-action 'self'", "style-src 'sha256-"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "script-src") {
		t.Errorf("Content-Security-Policy %q allows inline code or scripts", csp)
	}
	if strings.Contains(strings.ToLower(resp.Body), "<script") {
		t.Errorf("page has a script element")
	}
}

// TestGetShowsTheRequestAndChangesNothing: mail scanners open every link; a
// GET, however often, must not share or record anything.
func TestGetShowsTheRequestAndChangesNothing(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)

	f.calls.Reset()
	for range 3 {
		resp := f.serve(t, linkEvent(t, "get.json", token))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET status = %d, want 200\n%s", resp.StatusCode, resp.Body)
		}
		checkHeaders(t, resp)
		for _, want := range []string{
			"<code>" + ami + "</code>", "golden-al2023 2026-06-01", "us-east-1",
			f.env.Own("arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2"),
			"Account <code>111111111111</code>", "Account <code>222222222222</code>",
			"Link expires", `<form method="post">`, `name="token" value="` + token + `"`,
			`<button type="submit" name="decision" value="approve" class="approve">Approve</button>`,
			`<button type="submit" name="decision" value="reject" class="reject">Reject</button>`,
		} {
			if !strings.Contains(resp.Body, want) {
				t.Errorf("GET page lacks %q", want)
			}
		}
	}
	if w := f.calls.Writes(); len(w) != 0 {
		t.Errorf("GETs made write calls: %v", w)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
		t.Errorf("launch permissions after GETs = %v, want none", got)
	}
}

func TestApproveSharesOnceAndNotifiesOnce(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)

	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" {
		t.Fatalf("approve = %d, outcome %q (%s), want 200 shared", resp.StatusCode, pageOutcome(resp), pageTitle(resp))
	}
	checkHeaders(t, resp)
	if got, want := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami), approvaltest.Targets.Accounts; !slices.Equal(got, want) {
		t.Errorf("launch permissions = %v, want %v", got, want)
	}
	notices := f.env.Target.Receive(t)
	if len(notices) != 1 {
		t.Fatalf("target notices = %d, want 1", len(notices))
	}
	for _, want := range []string{ami + "  us-east-1", "accounts 111111111111, 222222222222", "golden-al2023/1.0.4/2"} {
		if !strings.Contains(notices[0].Body, want) {
			t.Errorf("target notice does not say %q:\n%s", want, notices[0].Body)
		}
	}

	// A second submission (a double click, a second approver) gets the
	// recorded decision; nothing is shared or sent again.
	f.calls.Reset()
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" || !strings.Contains(resp.Body, "decided before: nothing was done now") {
		t.Errorf("second approve = %d, outcome %q, want 200 showing the recorded approval", resp.StatusCode, pageOutcome(resp))
	}
	if n := f.calls.Count("EC2.ModifyImageAttribute") + f.calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("second approve made %d share or notice calls (%s), want 0", n, f.calls)
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices after the second approve = %d, want 0", n)
	}

	// Every attempt is audited with who and what.
	var audits []string
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, "kind=audit ") {
			audits = append(audits, item)
		}
	}
	if len(audits) != 2 {
		t.Fatalf("audit records = %d, want 2", len(audits))
	}
	for _, a := range audits {
		for _, want := range []string{"action=approve ", "sourceIp=203.0.113.24 ", "userAgent=Mozilla/5.0 ", "amis=us-east-1/" + ami, "targetAccounts=111111111111 222222222222 "} {
			if !strings.Contains(a, want) {
				t.Errorf("audit record lacks %q: %s", want, a)
			}
		}
	}
}

func TestRejectThenApproveSharesNothing(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)

	resp := f.serve(t, linkEvent(t, "post-reject.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "rejected" {
		t.Fatalf("reject = %d, outcome %q, want 200 rejected", resp.StatusCode, pageOutcome(resp))
	}
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "rejected" {
		t.Errorf("approve after reject = %d, outcome %q, want 200 showing the rejection", resp.StatusCode, pageOutcome(resp))
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
		t.Errorf("launch permissions = %v, want none", got)
	}
	if n := f.calls.Count("EC2.ModifyImageAttribute"); n != 0 {
		t.Errorf("ModifyImageAttribute calls = %d, want 0", n)
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices = %d, want 0", n)
	}
	// The GET shows the decision, without buttons.
	resp = f.serve(t, linkEvent(t, "get.json", token))
	if pageOutcome(resp) != "rejected" || strings.Contains(resp.Body, "<form") {
		t.Errorf("GET after reject: outcome %q, form shown %v; want rejected and no form", pageOutcome(resp), strings.Contains(resp.Body, "<form"))
	}
}

func TestBadRequestsGetTheirStatusAndShareNothing(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)

	// An expired request: made 100 hours ago with the default 72-hour link.
	expiredImage := f.requestEvent(t, "failed.json", nil) // another build ARN, so a request of its own
	expiredImage.Status = approval.StatusAvailable
	expiredImage.AMIs = []approval.AMI{{Region: "us-east-1", ID: ami, Name: "old"}}
	f.requests.Now = func() time.Time { return time.Now().Add(-100 * time.Hour) }
	expired := f.request(t, expiredImage)
	f.requests.Now = nil

	altered := []byte(token) // one character changed, still well-formed
	if altered[10] == 'A' {
		altered[10] = 'B'
	} else {
		altered[10] = 'A'
	}
	unknown := approval.NewToken().Secret()

	withBody := func(name, body string, mutate ...func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
		req := linkEvent(t, name, token)
		req.Body = base64.StdEncoding.EncodeToString([]byte(body))
		for _, m := range mutate {
			m(&req)
		}
		return req
	}
	method := func(m string) func(*events.APIGatewayV2HTTPRequest) {
		return func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.HTTP.Method = m }
	}
	tests := []struct {
		name   string
		req    events.APIGatewayV2HTTPRequest
		status int
	}{
		{"GET altered token", linkEvent(t, "get.json", string(altered)), http.StatusNotFound},
		{"POST altered token", linkEvent(t, "post-approve.json", string(altered)), http.StatusNotFound},
		{"GET unknown token", linkEvent(t, "get.json", unknown), http.StatusNotFound},
		{"POST unknown token", linkEvent(t, "post-approve.json", unknown), http.StatusNotFound},
		{"GET truncated token", linkEvent(t, "get.json", token[:20]), http.StatusNotFound},
		{"GET expired token", linkEvent(t, "get.json", expired), http.StatusGone},
		{"POST expired token", linkEvent(t, "post-approve.json", expired), http.StatusGone},
		{"GET missing token", linkEvent(t, "get.json", ""), http.StatusBadRequest},
		{"POST missing token", withBody("post-approve.json", "decision=approve"), http.StatusBadRequest},
		{"PUT", withBody("post-approve.json", "token="+token+"&decision=approve", method(http.MethodPut)), http.StatusMethodNotAllowed},
		{"DELETE", withBody("get.json", "", method(http.MethodDelete)), http.StatusMethodNotAllowed},
		{"HEAD", withBody("get.json", "", method(http.MethodHead)), http.StatusMethodNotAllowed},
		{"decision neither", withBody("post-approve.json", "token="+token+"&decision=maybe"), http.StatusBadRequest},
		{"decision missing", withBody("post-approve.json", "token="+token), http.StatusBadRequest},
		{"two decisions", withBody("post-approve.json", "token="+token+"&decision=reject&decision=approve"), http.StatusBadRequest},
		{"JSON body", withBody("post-approve.json", `{"token":"`+token+`","decision":"approve"}`, func(r *events.APIGatewayV2HTTPRequest) {
			r.Headers["content-type"] = "application/json"
		}), http.StatusBadRequest},
	}

	f.calls.Reset()
	bodies := map[int]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.serve(t, tt.req)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d (%s), want %d", resp.StatusCode, pageTitle(resp), tt.status)
			}
			checkHeaders(t, resp)
			if tt.status == http.StatusMethodNotAllowed && resp.Headers["Allow"] != "GET, POST" {
				t.Errorf("Allow = %q, want GET, POST", resp.Headers["Allow"])
			}
			if strings.Contains(resp.Body, ami) || strings.Contains(resp.Body, "<form") {
				t.Errorf("a %d page shows the request", resp.StatusCode)
			}
			// Pages of one status are alike: an altered token and an unknown
			// one get the same 404, which tells an attacker nothing.
			if prev, ok := bodies[resp.StatusCode]; ok && prev != resp.Body {
				t.Errorf("two %d pages differ", resp.StatusCode)
			}
			bodies[resp.StatusCode] = resp.Body
		})
	}
	if n := f.calls.Count("EC2.ModifyImageAttribute") + f.calls.Count("SNS.Publish") + f.calls.Count("DynamoDB.UpdateItem"); n != 0 {
		t.Errorf("bad requests made %d share, notice or decision calls (%s), want 0", n, f.calls)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
		t.Errorf("launch permissions = %v, want none", got)
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices = %d, want 0", n)
	}
	// The real link still works afterwards.
	if resp := f.serve(t, linkEvent(t, "get.json", token)); resp.StatusCode != http.StatusOK {
		t.Errorf("GET with the real token after the bad requests = %d, want 200", resp.StatusCode)
	}
}

func TestMultiRegionApprovalSharesEachAMIInItsRegion(t *testing.T) {
	f := newFixture(t, approvalURL)
	im := f.requestEvent(t, "available-multi-region.json", nil)
	east := approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "golden east")
	west := approvaltest.GoldenAMI(t, f.env.EC2("eu-west-1"), "eu-west-1", im.ARN, "golden west")
	// Tagged for this build too, but not among its outputs.
	stray := approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "golden stray")
	token := f.request(t, f.requestEvent(t, "available-multi-region.json", map[string]string{sampleAMIEast: east, sampleAMIWest: west}))

	f.env.IB.ResetCalls()
	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" {
		t.Fatalf("approve = %d, outcome %q: %s", resp.StatusCode, pageOutcome(resp), resp.Body)
	}
	if n := f.env.IB.Count("GetImage"); n != 1 {
		t.Errorf("GetImage calls on approve = %d, want 1", n)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), stray); len(got) != 0 {
		t.Errorf("launch permissions of %s, which Image Builder does not list = %v, want none", stray, got)
	}
	for region, ami := range map[string]string{"us-east-1": east, "eu-west-1": west} {
		if got, want := approvaltest.LaunchPermissions(t, f.env.EC2(region), ami), approvaltest.Targets.Accounts; !slices.Equal(got, want) {
			t.Errorf("launch permissions of %s in %s = %v, want %v", ami, region, got, want)
		}
	}
	if n := f.calls.Count("EC2.ModifyImageAttribute"); n != 2 {
		t.Errorf("ModifyImageAttribute calls = %d, want 2 (one per AMI)", n)
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1 for the build", n)
	}
}

func TestOrganizationTargetsAreShared(t *testing.T) {
	f := newFixture(t, approvalURL)
	const (
		org = "arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5"
		ou  = "arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456"
	)
	f.requests.Targets = approval.Targets{Accounts: []string{"333333333333"}, Organizations: []string{org}, OUs: []string{ou}}
	// Shared with the configuration's targets at share time (the link
	// function's TARGET_*), narrowed to the request's.
	f.h.decider.Targets = approval.Targets{Accounts: []string{"333333333333", "444444444444"}, Organizations: []string{org}, OUs: []string{ou}}
	ami, token := f.singleRegion(t)

	if resp := f.serve(t, linkEvent(t, "post-approve.json", token)); pageOutcome(resp) != "shared" {
		t.Fatalf("approve: outcome %q, want shared", pageOutcome(resp))
	}
	want := []string{"333333333333", org, ou}
	slices.Sort(want)
	if diff := cmp.Diff(want, approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami)); diff != "" {
		t.Errorf("launch permissions (-want +got):\n%s", diff)
	}
}

// TestAMIsThatCannotBeSharedAreRefused: the checks before sharing refuse an
// AMI that is gone or that Image Builder did not make for this build, and
// share nothing of the build.
func TestAMIsThatCannotBeSharedAreRefused(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(t *testing.T, c *ec2.Client, ami string)
		reason string
	}{
		{"deregistered", func(t *testing.T, c *ec2.Client, ami string) {
			if _, err := c.DeregisterImage(context.Background(), &ec2.DeregisterImageInput{ImageId: aws.String(ami)}); err != nil {
				t.Fatal(err)
			}
		}, "no such AMI in this account"},
		{"tagged for another build", func(t *testing.T, c *ec2.Client, ami string) {
			_, err := c.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{ami}, Tags: []ec2types.Tag{
				awstest.Tag(approval.TagImageBuilderARN, "arn:aws:imagebuilder:us-east-1:123456789012:image/other/9.9.9/1"),
			}})
			if err != nil {
				t.Fatal(err)
			}
		}, "not this build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, approvalURL)
			ami, token := f.singleRegion(t)
			tt.setup(t, f.env.EC2("us-east-1"), ami)

			resp := f.serve(t, linkEvent(t, "post-approve.json", token))
			if pageOutcome(resp) != "refused" || !strings.Contains(resp.Body, tt.reason) {
				t.Errorf("approve: outcome %q, want refused saying %q\n%s", pageOutcome(resp), tt.reason, resp.Body)
			}
			if n := f.calls.Count("EC2.ModifyImageAttribute") + f.calls.Count("SNS.Publish"); n != 0 {
				t.Errorf("share or notice calls = %d, want 0", n)
			}
			// The refusal is the recorded decision.
			if resp := f.serve(t, linkEvent(t, "post-approve.json", token)); pageOutcome(resp) != "refused" {
				t.Errorf("second approve: outcome %q, want the recorded refusal", pageOutcome(resp))
			}
		})
	}
}

// TestFailedSharingCanBeRetried: when sharing stops on an error, the page
// says so and offers to retry; the retry finishes the job once.
func TestFailedSharingCanBeRetried(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)
	topic := f.h.decider.TargetTopicARN
	f.h.decider.TargetTopicARN = topic + "-missing"

	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusBadGateway || pageOutcome(resp) != "failed" || !strings.Contains(resp.Body, "Retry sharing") {
		t.Fatalf("approve with the notice failing = %d, outcome %q; want 502, failed, with a retry button", resp.StatusCode, pageOutcome(resp))
	}

	f.h.decider.TargetTopicARN = topic
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" {
		t.Fatalf("retry = %d, outcome %q, want 200 shared", resp.StatusCode, pageOutcome(resp))
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); !slices.Equal(got, approvaltest.Targets.Accounts) {
		t.Errorf("launch permissions = %v, want %v", got, approvaltest.Targets.Accounts)
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}
	// Once shared, the request is done: no more retries.
	f.calls.Reset()
	f.serve(t, linkEvent(t, "post-approve.json", token))
	if n := f.calls.Count("EC2.ModifyImageAttribute"); n != 0 {
		t.Errorf("ModifyImageAttribute after success = %d, want 0", n)
	}
}

// faults makes the EC2 launch-permission changes of one Region fail, as
// they would for a missing permission; the error names a role, which must
// stay off the page.
type faults struct {
	mu                  sync.Mutex
	failAdd, failRemove map[string]bool // by Region
}

const deniedError = "You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/ami-approval-link-role/fn"

func (f *faults) set(add, remove map[string]bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAdd, f.failRemove = add, remove
}

type faultyEC2 struct {
	approval.ImageAPI
	region string
	faults *faults
}

func (c faultyEC2) ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, opts ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	c.faults.mu.Lock()
	fail := in.LaunchPermission != nil &&
		(len(in.LaunchPermission.Add) > 0 && c.faults.failAdd[c.region] || len(in.LaunchPermission.Remove) > 0 && c.faults.failRemove[c.region])
	c.faults.mu.Unlock()
	if fail {
		return nil, &smithy.GenericAPIError{Code: "UnauthorizedOperation", Message: deniedError}
	}
	return c.ImageAPI.ModifyImageAttribute(ctx, in, opts...)
}

// withFaults gives the handler EC2 clients, under the function's role,
// that fail as fs says.
func (f *fixture) withFaults(fs *faults) {
	cfg := f.role.Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, f.calls.Middleware)
	f.h.decider.EC2 = &approval.Regional[approval.ImageAPI]{New: func(region string) approval.ImageAPI {
		return faultyEC2{ImageAPI: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region }), region: region, faults: fs}
	}}
}

// requestRecord reads the request item of a token straight from the table.
func (f *fixture) requestRecord(t *testing.T, token string) map[string]dbtypes.AttributeValue {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	out, err := f.env.DynamoDB.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(f.env.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "request#" + hex.EncodeToString(sum[:])}},
	})
	if err != nil || out.Item == nil {
		t.Fatalf("GetItem of the request = %v, %v", out, err)
	}
	return out.Item
}

// recordedAMIs lists the AMI IDs of a list attribute of the request item.
func recordedAMIs(item map[string]dbtypes.AttributeValue, name string) []string {
	var ids []string
	if l, ok := item[name].(*dbtypes.AttributeValueMemberL); ok {
		for _, v := range l.Value {
			if m, ok := v.(*dbtypes.AttributeValueMemberM); ok {
				if id, ok := m.Value["id"].(*dbtypes.AttributeValueMemberS); ok {
					ids = append(ids, id.Value)
				}
			}
		}
	}
	return ids
}

func stringAttr(item map[string]dbtypes.AttributeValue, name string) string {
	if v, ok := item[name].(*dbtypes.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// TestPartialShareIsUndoneOrShown: sharing goes Region by Region. When a
// later Region fails, the AMIs shared before it are unshared again; when
// that fails too, the page and the record say which AMIs are still shared.
// Either way the page never says "Nothing was shared" while something was,
// and never shows the AWS error.
func TestPartialShareIsUndoneOrShown(t *testing.T) {
	f := newFixture(t, approvalURL)
	var logs syncBuffer
	f.h.decider.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	fs := &faults{}
	f.withFaults(fs)
	im := f.requestEvent(t, "available-multi-region.json", nil)
	east := approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "golden east")
	west := approvaltest.GoldenAMI(t, f.env.EC2("eu-west-1"), "eu-west-1", im.ARN, "golden west")
	token := f.request(t, f.requestEvent(t, "available-multi-region.json", map[string]string{sampleAMIEast: east, sampleAMIWest: west}))
	perms := func(region, ami string) []string { return approvaltest.LaunchPermissions(t, f.env.EC2(region), ami) }
	const genericReason = "sharing failed in eu-west-1; retry, or ask an operator to check the function&#39;s logs"

	// 1. eu-west-1 fails after us-east-1 was shared: us-east-1 is undone.
	fs.set(map[string]bool{"eu-west-1": true}, nil)
	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusBadGateway || pageOutcome(resp) != "failed" {
		t.Fatalf("approve with eu-west-1 failing = %d, outcome %q, want 502 failed", resp.StatusCode, pageOutcome(resp))
	}
	for _, want := range []string{genericReason, "Nothing is shared now", "Shared, then unshared again: <code>" + east + "</code> in us-east-1.", "Retry sharing"} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page after the failure lacks %q\n%s", want, resp.Body)
		}
	}
	for _, leak := range []string{"UnauthorizedOperation", "assumed-role", "Still shared", "Nothing was shared"} {
		if strings.Contains(resp.Body, leak) {
			t.Errorf("page after the failure says %q", leak)
		}
	}
	if got := perms("us-east-1", east); len(got) != 0 {
		t.Errorf("launch permissions of %s after the undo = %v, want none", east, got)
	}
	if got := perms("eu-west-1", west); len(got) != 0 {
		t.Errorf("launch permissions of %s = %v, want none", west, got)
	}
	rec := f.requestRecord(t, token)
	if got, want := recordedAMIs(rec, "unsharedAmis"), []string{east}; !slices.Equal(got, want) {
		t.Errorf("recorded unsharedAmis = %v, want %v", got, want)
	}
	if got := recordedAMIs(rec, "sharedAmis"); len(got) != 0 {
		t.Errorf("recorded sharedAmis = %v, want none", got)
	}
	if got := stringAttr(rec, "outcome"); got != approval.OutcomeFailed {
		t.Errorf("recorded outcome = %q, want failed", got)
	}
	if !strings.Contains(logs.String(), "assumed-role/ami-approval-link-role") {
		t.Errorf("the log lacks the full error:\n%s", logs.String())
	}

	// 2. The retry fails the same way, and undoing us-east-1 fails too: it
	// stays shared, and the page and the record say so.
	fs.set(map[string]bool{"eu-west-1": true}, map[string]bool{"us-east-1": true})
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if resp.StatusCode != http.StatusBadGateway || pageOutcome(resp) != "failed" {
		t.Fatalf("retry = %d, outcome %q, want 502 failed", resp.StatusCode, pageOutcome(resp))
	}
	for _, want := range []string{genericReason, "Some AMIs are still shared", "Still shared", "<li><code>" + east + "</code> in us-east-1</li>"} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page after the failed undo lacks %q\n%s", want, resp.Body)
		}
	}
	for _, wrong := range []string{"Nothing was shared", "Nothing is shared now", "assumed-role"} {
		if strings.Contains(resp.Body, wrong) {
			t.Errorf("page after the failed undo says %q", wrong)
		}
	}
	if got, want := perms("us-east-1", east), approvaltest.Targets.Accounts; !slices.Equal(got, want) {
		t.Errorf("launch permissions of %s after the failed undo = %v, want %v", east, got, want)
	}
	if got, want := recordedAMIs(f.requestRecord(t, token), "sharedAmis"), []string{east}; !slices.Equal(got, want) {
		t.Errorf("recorded sharedAmis = %v, want %v", got, want)
	}
	var audited bool
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, "kind=audit ") && strings.Contains(item, "still shared: us-east-1/"+east) && strings.Contains(item, "sharedAmis=us-east-1/"+east) {
			audited = true
		}
	}
	if !audited {
		t.Errorf("no audit record says %s is still shared", east)
	}

	// 3. The next retry is refused (the eu-west-1 AMI is gone): the AMI left
	// shared is undone, and the page does not claim nothing was ever shared.
	fs.set(nil, nil)
	if _, err := f.env.EC2("eu-west-1").DeregisterImage(context.Background(), &ec2.DeregisterImageInput{ImageId: aws.String(west)}); err != nil {
		t.Fatal(err)
	}
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if pageOutcome(resp) != "refused" {
		t.Fatalf("retry after deregistering = %d, outcome %q, want refused", resp.StatusCode, pageOutcome(resp))
	}
	for _, want := range []string{"Nothing is shared now", "Shared, then unshared again: <code>" + east + "</code> in us-east-1."} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("refusal page lacks %q\n%s", want, resp.Body)
		}
	}
	if strings.Contains(resp.Body, "Nothing was shared") || strings.Contains(resp.Body, "Still shared") {
		t.Errorf("refusal page misstates what was shared")
	}
	if got := perms("us-east-1", east); len(got) != 0 {
		t.Errorf("launch permissions of %s after the refusal = %v, want none", east, got)
	}
	rec = f.requestRecord(t, token)
	if got := recordedAMIs(rec, "sharedAmis"); len(got) != 0 {
		t.Errorf("recorded sharedAmis after the refusal = %v, want none", got)
	}
	if got, want := recordedAMIs(rec, "unsharedAmis"), []string{east}; !slices.Equal(got, want) {
		t.Errorf("recorded unsharedAmis after the refusal = %v, want %v", got, want)
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices = %d, want 0: nothing was approved and shared", n)
	}
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// table is the decisions table as the store calls it.
type table interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// barrierTable holds each decision write until the test lets it go: both
// POSTs have read the request as undecided before either writes, so only
// the conditional write can tell them apart. The test lets the writes go one
// after the other: moto, unlike DynamoDB, does not make a conditional write
// atomic against a concurrent one, and DynamoDB's atomicity is not what
// this test is about.
type barrierTable struct {
	table
	arrived chan<- chan struct{} // each held write sends its release
	done    chan<- struct{}      // and says when it returned
}

func (b barrierTable) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	if !strings.HasPrefix(aws.ToString(in.UpdateExpression), "SET decision = ") {
		return b.table.UpdateItem(ctx, in, opts...)
	}
	release := make(chan struct{})
	b.arrived <- release
	<-release
	defer func() { b.done <- struct{}{} }()
	return b.table.UpdateItem(ctx, in, opts...)
}

// atTheDecisionWrite serves reqs at once, holding each at the decision's
// conditional write (barrierTable) until all of them are there, then lets
// them through one after the other; it returns their pages, in order.
func (f *fixture) atTheDecisionWrite(t *testing.T, reqs []events.APIGatewayV2HTTPRequest) []events.APIGatewayV2HTTPResponse {
	t.Helper()
	arrived, done := make(chan chan struct{}, len(reqs)), make(chan struct{}, len(reqs))
	db := f.h.decider.Store.DB
	f.h.decider.Store.DB = barrierTable{table: db, arrived: arrived, done: done}
	defer func() { f.h.decider.Store.DB = db }()
	pages := make([]events.APIGatewayV2HTTPResponse, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := f.h.Handle(context.Background(), req)
			if err != nil {
				t.Errorf("request %d: Handle returned an error: %v", i, err)
			}
			pages[i] = resp
		}()
	}
	var held []chan struct{}
	for range reqs {
		select {
		case r := <-arrived:
			held = append(held, r)
		case <-time.After(30 * time.Second):
			for _, r := range held {
				close(r)
			}
			wg.Wait()
			t.Fatalf("%d of the %d decisions reached the conditional write", len(held), len(reqs))
		}
	}
	for _, r := range held {
		close(r)
		<-done
	}
	wg.Wait()
	return pages
}

// TestConcurrentDecisionsFirstWins: an Approve and a Reject POSTed at once
// both find the request undecided and both reach the decision's write. The
// conditional write lets exactly one through; the other gets the recorded
// decision, and nothing is shared or sent twice.
func TestConcurrentDecisionsFirstWins(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)
	f.calls.Reset()

	decisions := []string{"post-approve.json", "post-reject.json"}
	var reqs []events.APIGatewayV2HTTPRequest
	for _, name := range decisions {
		reqs = append(reqs, linkEvent(t, name, token))
	}
	pages := f.atTheDecisionWrite(t, reqs)

	rec := f.requestRecord(t, token)
	winner := stringAttr(rec, "decision")
	var first, repeated int
	for i, resp := range pages {
		if strings.Contains(resp.Body, "decided before: nothing was done now") {
			repeated++
		} else {
			first++
			if want := strings.TrimSuffix(strings.TrimPrefix(decisions[i], "post-"), ".json"); want != winner {
				t.Errorf("the page of %s shows a first decision, but %q is recorded", decisions[i], winner)
			}
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want 200", decisions[i], resp.StatusCode)
		}
	}
	if first != 1 || repeated != 1 {
		t.Fatalf("pages showing a first decision = %d, a repeat = %d; want 1 and 1", first, repeated)
	}
	wantOutcome, wantShares, wantPerms := approval.OutcomeRejected, 0, []string(nil)
	if winner == approval.Approve {
		wantOutcome, wantShares, wantPerms = approval.OutcomeShared, 1, approvaltest.Targets.Accounts
	}
	if got := stringAttr(rec, "outcome"); got != wantOutcome {
		t.Errorf("recorded outcome = %q, want %q for a %s", got, wantOutcome, winner)
	}
	for i, resp := range pages {
		// The loser may read the approval while its sharing is under way.
		if got := pageOutcome(resp); got != wantOutcome && (winner != approval.Approve || got != approval.OutcomeSharing) {
			t.Errorf("%s: page outcome %q, want the recorded %q", decisions[i], got, wantOutcome)
		}
	}
	if n := f.calls.Count("EC2.ModifyImageAttribute"); n != wantShares {
		t.Errorf("ModifyImageAttribute calls = %d, want %d", n, wantShares)
	}
	if n := len(f.env.Target.Receive(t)); n != wantShares {
		t.Errorf("target notices = %d, want %d", n, wantShares)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); !slices.Equal(got, wantPerms) {
		t.Errorf("launch permissions = %v, want %v", got, wantPerms)
	}
}

// TestApprovalChecksEachAMIOnce: a POST runs the checks once and shares
// with their result; a retry runs them once again.
func TestApprovalChecksEachAMIOnce(t *testing.T) {
	f := newFixture(t, approvalURL)
	_, token := f.singleRegion(t)
	topic := f.h.decider.TargetTopicARN
	f.h.decider.TargetTopicARN = topic + "-missing"
	f.calls.Reset()
	if resp := f.serve(t, linkEvent(t, "post-approve.json", token)); pageOutcome(resp) != "failed" {
		t.Fatalf("approve with the notice failing: outcome %q, want failed", pageOutcome(resp))
	}
	if n := f.calls.Count("EC2.DescribeImages"); n != 1 {
		t.Errorf("DescribeImages calls on approve = %d, want 1", n)
	}
	f.h.decider.TargetTopicARN = topic
	f.calls.Reset()
	if resp := f.serve(t, linkEvent(t, "post-approve.json", token)); pageOutcome(resp) != "shared" {
		t.Fatalf("retry: outcome %q, want shared", pageOutcome(resp))
	}
	if n := f.calls.Count("EC2.DescribeImages"); n != 1 {
		t.Errorf("DescribeImages calls on retry = %d, want 1", n)
	}
}

// TestAMIImageBuilderDoesNotListIsRefused: an approval request made before
// Image Builder was asked (a pending request whose AMIs came from the
// message) names an AMI that carries both Image Builder
// tags with the build's ARN, but that Image Builder does not list for the
// build. Approving it shares nothing, and the refusal names the AMI.
func TestAMIImageBuilderDoesNotListIsRefused(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)
	im := f.requestEvent(t, "available-single-region.json", nil)
	real := approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "the real output")
	f.env.Built(im.ARN, approval.AMI{Region: "us-east-1", ID: real})

	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if pageOutcome(resp) != "refused" || !strings.Contains(resp.Body, ami+" in us-east-1: Image Builder does not list this AMI") {
		t.Errorf("approve: outcome %q, want refused naming %s\n%s", pageOutcome(resp), ami, resp.Body)
	}
	if n := f.calls.Count("EC2.ModifyImageAttribute") + f.calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("share or notice calls = %d, want 0", n)
	}
	for _, id := range []string{ami, real} {
		if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), id); len(got) != 0 {
			t.Errorf("launch permissions of %s = %v, want none", id, got)
		}
	}
	if n := f.env.IB.Count("GetImage"); n < 1 {
		t.Errorf("GetImage calls = %d: the approval did not ask Image Builder", n)
	}
}

// TestPagesShowEC2sNames: before any decision, the page and the email show
// the AMI's name and creation date as EC2 reports them, not the message's.
func TestPagesShowEC2sNames(t *testing.T) {
	f := newFixture(t, approvalURL)
	im := f.requestEvent(t, "available-single-region.json", nil)
	ami := approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "name EC2 knows")
	im = f.requestEvent(t, "available-single-region.json", map[string]string{sampleAMIEast: ami})
	const messageName = "golden-al2023 2026-06-01T07-03-10.104Z"
	if im.AMIs[0].Name != messageName {
		t.Fatalf("the sample message names the AMI %q, want %q", im.AMIs[0].Name, messageName)
	}
	f.env.Built(im.ARN, im.AMIs...)
	if _, err := f.requests.Handle(context.Background(), im); err != nil {
		t.Fatal(err)
	}
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 || !strings.Contains(mails[0].Body, ami+"  us-east-1  name EC2 knows  created ") || strings.Contains(mails[0].Body, messageName) {
		t.Fatalf("email does not show EC2's name (or shows the message's):\n%v", mails)
	}
	token := linkPattern.FindStringSubmatch(mails[0].Body)[1]
	resp := f.serve(t, linkEvent(t, "get.json", token))
	if !strings.Contains(resp.Body, "<td>name EC2 knows</td>") || strings.Contains(resp.Body, messageName) {
		t.Errorf("GET page does not show EC2's name, or shows the message's")
	}

	// The audit record of the decision names the AMI as EC2 does too.
	f.serve(t, linkEvent(t, "post-reject.json", token))
	var audited bool
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, messageName) {
			t.Errorf("an item holds the message's name: %s", item)
		}
		audited = audited || strings.Contains(item, "kind=audit ") && strings.Contains(item, "ec2Amis="+ami+"  us-east-1  name EC2 knows  created ")
	}
	if !audited {
		t.Errorf("no audit record names %s as EC2 does", ami)
	}
}

// TestRejectSaysRejected: the page and the audit record say "rejected".
func TestRejectSaysRejected(t *testing.T) {
	f := newFixture(t, approvalURL)
	_, token := f.singleRegion(t)
	f.serve(t, linkEvent(t, "post-reject.json", token))
	resp := f.serve(t, linkEvent(t, "post-reject.json", token))
	if !strings.Contains(resp.Body, "<dd>rejected on ") || strings.Contains(resp.Body, "rejectd") {
		t.Errorf("page does not say \"rejected on\":\n%s", resp.Body)
	}
	var said bool
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, "rejectd") {
			t.Errorf("an item says rejectd: %s", item)
		}
		said = said || strings.Contains(item, "outcome=already rejected: rejected ")
	}
	if !said {
		t.Errorf("no audit record says \"already rejected\"")
	}
}

// stallingEC2 holds the launch-permission grants of one Region until the
// caller gives up (a slow EC2), or stops the invocation there (a crash).
type stallingEC2 struct {
	approval.ImageAPI
	stall bool
	crash bool
}

func (c stallingEC2) ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, opts ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	if in.LaunchPermission != nil && len(in.LaunchPermission.Add) > 0 {
		switch {
		case c.crash:
			runtime.Goexit() // the invocation dies here: nothing after runs
		case c.stall:
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	return c.ImageAPI.ModifyImageAttribute(ctx, in, opts...)
}

// withSlowRegion makes EC2 (under the function's role) in region stall or
// crash on grants.
func (f *fixture) withSlowRegion(region string, stall, crash bool) {
	cfg := f.role.Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, f.calls.Middleware)
	f.h.decider.EC2 = &approval.Regional[approval.ImageAPI]{New: func(r string) approval.ImageAPI {
		c := approval.ImageAPI(ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = r }))
		if r == region {
			return stallingEC2{ImageAPI: c, stall: stall, crash: crash}
		}
		return c
	}}
}

// sweeper is ami-approval-sweeper's side of a stopped approval, under that
// function's role: it finishes what the link's invocation left sharing,
// with the clock now.
func (f *fixture) sweeper(t *testing.T, now func() time.Time) *approval.Decider {
	t.Helper()
	cfg := f.env.As(t, approvaltest.SweeperFunction).Config.Copy()
	cfg.APIOptions = append(cfg.APIOptions, f.calls.Middleware)
	d := approval.NewDecider(cfg, f.env.Settings(approvalURL), f.h.decider.Log)
	d.Builds, d.Now = f.env.Builds(cfg), now
	return d
}

func (f *fixture) multiRegion(t *testing.T) (east, west, token string) {
	t.Helper()
	im := f.requestEvent(t, "available-multi-region.json", nil)
	east = approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "golden east")
	west = approvaltest.GoldenAMI(t, f.env.EC2("eu-west-1"), "eu-west-1", im.ARN, "golden west")
	return east, west, f.request(t, f.requestEvent(t, "available-multi-region.json", map[string]string{sampleAMIEast: east, sampleAMIWest: west}))
}

// TestSlowEC2AndAShortDeadline: EC2 in the second Region does not answer.
// The page still answers before the invocation's deadline, and afterwards
// either everything is shared and the targets were told once, or nothing
// is shared and the approver can retry; never anything in between.
func TestSlowEC2AndAShortDeadline(t *testing.T) {
	f := newFixture(t, approvalURL)
	east, west, token := f.multiRegion(t)
	f.withSlowRegion("eu-west-1", true, false)

	// 10 s, not the stack's 25 s, to keep the test short; its margin (2 s,
	// a fifth) is what the undo and the record get, and 5 s (1 s) proved
	// too tight for them on a loaded 2-core machine.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dl, _ := ctx.Deadline()
	resp, err := f.h.Handle(ctx, linkEvent(t, "post-approve.json", token))
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if !time.Now().Before(dl) {
		t.Errorf("the page answered after the invocation's deadline")
	}
	perms := func(region, ami string) []string { return approvaltest.LaunchPermissions(t, f.env.EC2(region), ami) }
	notices := len(f.env.Target.Receive(t))
	shared := len(perms("us-east-1", east)) > 0 || len(perms("eu-west-1", west)) > 0
	allShared := len(perms("us-east-1", east)) > 0 && len(perms("eu-west-1", west)) > 0
	switch {
	case allShared && notices == 1 && pageOutcome(resp) == "shared":
		return // (a)
	case !shared && notices == 0 && pageOutcome(resp) == "failed" && strings.Contains(resp.Body, "Retry sharing"):
		// (b): and the retry works.
	default:
		t.Fatalf("after the deadline: outcome %q, east %v, west %v, notices %d: neither all shared and told once, nor nothing shared with a retry",
			pageOutcome(resp), perms("us-east-1", east), perms("eu-west-1", west), notices)
	}
	if got := stringAttr(f.requestRecord(t, token), "outcome"); got != approval.OutcomeFailed {
		t.Errorf("recorded outcome = %q, want failed", got)
	}
	f.withSlowRegion("", false, false)
	resp = f.serve(t, linkEvent(t, "post-approve.json", token))
	if pageOutcome(resp) != "shared" || len(perms("us-east-1", east)) == 0 || len(perms("eu-west-1", west)) == 0 {
		t.Errorf("retry: outcome %q, want shared in both Regions", pageOutcome(resp))
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices after the retry = %d, want 1", n)
	}
}

// crashInSecondRegion approves, and the invocation dies at the share in
// eu-west-1, after us-east-1 was shared: nothing after that point runs.
func (f *fixture) crashInSecondRegion(t *testing.T, token string) {
	t.Helper()
	f.withSlowRegion("eu-west-1", false, true)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _ = f.h.Handle(context.Background(), linkEvent(t, "post-approve.json", token))
	}()
	wg.Wait()
}

// TestCrashAfterTheFirstShareIsSwept: the invocation dies after sharing the
// first AMI. The page then says what may be shared and offers to finish;
// the sweeper finishes it exactly once, tells the targets once and the
// approvers once, and a second sweep does nothing.
func TestCrashAfterTheFirstShareIsSwept(t *testing.T) {
	f := newFixture(t, approvalURL)
	east, west, token := f.multiRegion(t)
	f.crashInSecondRegion(t, token)
	perms := func(region, ami string) []string { return approvaltest.LaunchPermissions(t, f.env.EC2(region), ami) }
	if got := stringAttr(f.requestRecord(t, token), "outcome"); got != approval.OutcomeSharing || len(perms("us-east-1", east)) == 0 {
		t.Fatalf("after the crash: outcome %q, east %v; want sharing with east shared", got, perms("us-east-1", east))
	}

	// The page after the lease: what may be shared, and a button.
	later := time.Now().Add(approval.SharingLease + time.Minute)
	f.h.Now = func() time.Time { return later }
	resp := f.serve(t, linkEvent(t, "get.json", token))
	for _, want := range []string{"May already be shared", "<li><code>" + east + "</code> in us-east-1</li>", "Finish sharing"} {
		if !strings.Contains(resp.Body, want) || pageOutcome(resp) != "stopped" {
			t.Errorf("GET after the crash: outcome %q, lacks %q", pageOutcome(resp), want)
		}
	}
	if strings.Contains(resp.Body, "Nothing") {
		t.Errorf("GET after the crash claims nothing is shared")
	}

	f.withSlowRegion("", false, false)
	sweeper := f.sweeper(t, func() time.Time { return later })
	sw, err := sweeper.Sweep(context.Background())
	swept := sw.Stopped
	if err != nil || len(swept) != 1 || swept[0].Outcome != approval.OutcomeShared {
		t.Fatalf("Sweep = %+v, %v, want one approval finished as shared", swept, err)
	}
	sw, err = sweeper.Sweep(context.Background())
	swept = sw.Stopped
	if err != nil || len(swept) != 0 {
		t.Errorf("second Sweep = %+v, %v, want nothing to do", swept, err)
	}
	for region, ami := range map[string]string{"us-east-1": east, "eu-west-1": west} {
		if got := perms(region, ami); !slices.Equal(got, approvaltest.Targets.Accounts) {
			t.Errorf("launch permissions of %s = %v, want %v", ami, got, approvaltest.Targets.Accounts)
		}
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "sharing finished") {
		t.Errorf("approver messages = %+v, want one saying sharing finished", mails)
	}
	if got := stringAttr(f.requestRecord(t, token), "outcome"); got != approval.OutcomeShared {
		t.Errorf("recorded outcome = %q, want shared", got)
	}
	if resp := f.serve(t, linkEvent(t, "get.json", token)); pageOutcome(resp) != "shared" {
		t.Errorf("GET after the sweep: outcome %q, want shared", pageOutcome(resp))
	}
}

// TestFinishSharingFromThePage: the approver need not wait for the
// sweeper: "Finish sharing" on a stopped approval's page completes it once.
func TestFinishSharingFromThePage(t *testing.T) {
	f := newFixture(t, approvalURL)
	east, west, token := f.multiRegion(t)
	f.crashInSecondRegion(t, token)

	f.withSlowRegion("", false, false)
	later := time.Now().Add(approval.SharingLease + time.Minute)
	f.h.Now, f.h.decider.Now = func() time.Time { return later }, func() time.Time { return later }
	resp := f.serve(t, linkEvent(t, "post-approve.json", token))
	if pageOutcome(resp) != "shared" {
		t.Fatalf("Finish sharing: outcome %q, want shared", pageOutcome(resp))
	}
	for region, ami := range map[string]string{"us-east-1": east, "eu-west-1": west} {
		if got := approvaltest.LaunchPermissions(t, f.env.EC2(region), ami); !slices.Equal(got, approvaltest.Targets.Accounts) {
			t.Errorf("launch permissions of %s = %v, want %v", ami, got, approvaltest.Targets.Accounts)
		}
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}
	if sw, err := f.sweeper(t, f.h.decider.Now).Sweep(context.Background()); err != nil || len(sw.Stopped) != 0 {
		t.Errorf("Sweep after the approver finished = %+v, %v, want nothing to do", sw.Stopped, err)
	}
}
