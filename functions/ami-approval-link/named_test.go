package main

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/mail"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sestest"
)

var approvers = []approval.Approver{{Email: "alice@example.com", Name: "Alice"}, {Email: "bob@example.com"}, {Email: "carol@example.com"}}

var namedLink = regexp.MustCompile(`\?token=([A-Za-z0-9_-]{43})`)

// named makes the fixture's requests named (three approvers, quorum q),
// emailed through SES (moto, behind a sestest Recorder), and returns the
// Recorder.
func (f *fixture) named(t *testing.T, q int) *sestest.Recorder {
	t.Helper()
	rec := sestest.New(t, aws.ToString(f.env.Cfg.BaseEndpoint))
	ses := sesv2.NewFromConfig(f.env.Cfg, rec.Options)
	sestest.Identity(t, ses, "approvals@example.com")
	f.requests.Named = approval.Named{Approvers: approvers, From: "approvals@example.com", Quorum: q}
	f.requests.Mail = &mail.Sender{SES: ses, From: "approvals@example.com"}
	return rec
}

// namedRequest makes a named request of one golden AMI and returns the
// AMI and each approver's token, read from their one email.
func (f *fixture) namedRequest(t *testing.T, rec *sestest.Recorder) (string, map[string]string) {
	t.Helper()
	im := f.requestEvent(t, "available-single-region.json", nil)
	ami := approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "golden-al2023 2026-06-01")
	im = f.requestEvent(t, "available-single-region.json", map[string]string{sampleAMIEast: ami})
	f.env.Built(im.ARN, im.AMIs...)
	if _, err := f.requests.Handle(context.Background(), im); err != nil {
		t.Fatalf("make request: %v", err)
	}
	tokens := namedTokens(t, rec)
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("approver topic got %d messages in the named mode, want 0", n)
	}
	return ami, tokens
}

// namedTokens reads each approver's token from their one email.
func namedTokens(t *testing.T, rec *sestest.Recorder) map[string]string {
	t.Helper()
	tokens := map[string]string{}
	for _, a := range approvers {
		mails := rec.SentTo(a.Email)
		if len(mails) != 1 {
			t.Fatalf("emails to %s = %d, want 1", a.Email, len(mails))
		}
		m := namedLink.FindStringSubmatch(mails[0].Text)
		if m == nil {
			t.Fatalf("no link in the email to %s:\n%s", a.Email, mails[0].Text)
		}
		tokens[a.Email] = m[1]
	}
	return tokens
}

// pending approves with token and wants the vote counted, short of the
// quorum.
func (f *fixture) pending(t *testing.T, token string) {
	t.Helper()
	if got := pageOutcome(f.post(t, "approve", token)); got != "pending" {
		t.Fatalf("approval: %q, want pending", got)
	}
}

func (f *fixture) post(t *testing.T, decision, token string) events.APIGatewayV2HTTPResponse {
	t.Helper()
	return f.serve(t, linkEvent(t, "post-"+decision+".json", token))
}

// TestNamedEmailsOneEachNoUnsubscribe: each approver gets one email of
// their own, HTML and text, with a link nobody else got and no
// unsubscribe link or header.
func TestNamedEmailsOneEachNoUnsubscribe(t *testing.T) {
	f := newFixture(t, approvalURL)
	rec := f.named(t, 2)
	_, tokens := f.namedRequest(t, rec)
	if len(rec.Sent()) != len(approvers) {
		t.Errorf("emails = %d, want %d", len(rec.Sent()), len(approvers))
	}
	seen := map[string]bool{}
	for _, e := range rec.Sent() {
		if e.From != "approvals@example.com" || e.HTML == "" || e.Text == "" {
			t.Errorf("email to %v: from %q, HTML %d bytes, text %d bytes", e.To, e.From, len(e.HTML), len(e.Text))
		}
		for _, body := range []string{e.HTML, e.Text} {
			if strings.Contains(strings.ToLower(body), "unsubscribe") {
				t.Errorf("email to %v has an unsubscribe link", e.To)
			}
		}
		if len(e.Headers["List-Unsubscribe"]) > 0 {
			t.Errorf("email to %v has a List-Unsubscribe header", e.To)
		}
		if !strings.Contains(e.Text, "2 of the 3 approvers must approve") {
			t.Errorf("email to %v does not say the quorum:\n%s", e.To, e.Text)
		}
	}
	for _, tok := range tokens {
		if seen[tok] {
			t.Errorf("two approvers got the same link")
		}
		seen[tok] = true
	}
}

// TestQuorumOfTwoSharesOnceAtTheSecondDistinctApproval: of three approvers
// with a quorum of 2, one approval does nothing; the same approver again
// counts once; a second, distinct approval shares once and tells the
// targets once; a third is answered "decided before".
func TestQuorumOfTwoSharesOnceAtTheSecondDistinctApproval(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, tokens := f.namedRequest(t, f.named(t, 2))
	ec2c := f.env.EC2("us-east-1")

	resp := f.post(t, "approve", tokens["alice@example.com"])
	if resp.StatusCode != http.StatusOK || pageOutcome(resp) != "pending" {
		t.Fatalf("first approval: %d %q (%s), want 200 pending", resp.StatusCode, pageOutcome(resp), pageTitle(resp))
	}
	for _, want := range []string{"2 of 3 approvals needed; 1 so far", "Alice &lt;alice@example.com&gt; (you): approved on", "bob@example.com: awaited"} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("page after one approval lacks %q", want)
		}
	}
	again := f.post(t, "approve", tokens["alice@example.com"])
	if pageOutcome(again) != "pending" || !strings.Contains(again.Body, "counted before") {
		t.Errorf("the same link twice: %q (%s), want pending, counted before", pageOutcome(again), pageTitle(again))
	}
	if got := approvaltest.LaunchPermissions(t, ec2c, ami); len(got) != 0 {
		t.Fatalf("shared after one approval: %v", got)
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Fatalf("targets told after one approval: %d", n)
	}

	resp = f.post(t, "approve", tokens["bob@example.com"])
	if pageOutcome(resp) != "shared" {
		t.Fatalf("second approval: %q (%s), want shared", pageOutcome(resp), pageTitle(resp))
	}
	if got := approvaltest.LaunchPermissions(t, ec2c, ami); len(got) != len(approvaltest.Targets.Accounts) {
		t.Errorf("launch permissions = %v, want the targets'", got)
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}

	third := f.post(t, "approve", tokens["carol@example.com"])
	if pageOutcome(third) != "shared" || !strings.Contains(third.Body, "decided before") {
		t.Errorf("third approval: %q, want the recorded approval, decided before", pageOutcome(third))
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices after the third = %d, want 0", n)
	}
	item := f.env.RequestItem(t)
	if v, _ := item["approver"].(*dbtypes.AttributeValueMemberS); v == nil || v.Value != "bob@example.com" {
		t.Errorf("the decision is not recorded as bob's: %v", item["approver"])
	}
}

// TestOneRejectionAfterOneApprovalRejects: any one rejection rejects, and
// nothing is shared.
func TestOneRejectionAfterOneApprovalRejects(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, tokens := f.namedRequest(t, f.named(t, 2))
	f.pending(t, tokens["alice@example.com"])
	if got := pageOutcome(f.post(t, "reject", tokens["bob@example.com"])); got != "rejected" {
		t.Fatalf("rejection: %q, want rejected", got)
	}
	if got := pageOutcome(f.post(t, "approve", tokens["carol@example.com"])); got != "rejected" {
		t.Errorf("approval after the rejection: %q, want the recorded rejection", got)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
		t.Errorf("launch permissions = %v, want none", got)
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices = %d, want 0", n)
	}
}

// TestConcurrentApprovalsReachingTheQuorumShareOnce: after one approval,
// two more POSTed at once both find the quorum reached and both reach the
// decision's write (held by barrierTable until both are there); one is
// recorded, the AMI is shared and the targets told once.
func TestConcurrentApprovalsReachingTheQuorumShareOnce(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, tokens := f.namedRequest(t, f.named(t, 2))
	f.pending(t, tokens["alice@example.com"])
	pages := f.atTheDecisionWrite(t, []events.APIGatewayV2HTTPRequest{
		linkEvent(t, "post-approve.json", tokens["bob@example.com"]),
		linkEvent(t, "post-approve.json", tokens["carol@example.com"]),
	})
	// One page is the share's; the other is the recorded decision, read
	// while sharing or after.
	shared, repeated := 0, 0
	for _, p := range pages {
		if strings.Contains(p.Body, "decided before") {
			repeated++
		} else if pageOutcome(p) == "shared" {
			shared++
		}
	}
	if shared != 1 || repeated != 1 {
		t.Errorf("pages: %d shared now, %d decided before; want 1 and 1", shared, repeated)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != len(approvaltest.Targets.Accounts) {
		t.Errorf("launch permissions = %v", got)
	}
	if n := len(f.env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}
}

// TestWorkflowQuorumResumesOnceAtTheQuorum: a step-bound named request
// with a quorum of 2 sends nothing to Image Builder at the first approval,
// RESUME once at the second, and nothing at the third.
func TestWorkflowQuorumResumesOnceAtTheQuorum(t *testing.T) {
	f := newFixture(t, approvalURL)
	rec := f.named(t, 2)
	f.env.Paused(t, f.env.StepEvent(t), time.Now().UTC().Add(-10*time.Minute), 0)
	sw, err := approval.ParseStepWaiting(f.env.StepEvent(t))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := f.requests.HandleStep(context.Background(), sw); err != nil || res.Outcome != approval.Requested {
		t.Fatalf("make step request = %+v, %v", res, err)
	}
	f.env.IB.ResetCalls()
	tokens := namedTokens(t, rec)

	if got := pageOutcome(f.post(t, "approve", tokens["alice@example.com"])); got != "pending" {
		t.Fatalf("first approval: %q, want pending", got)
	}
	if actions, _ := f.sent(t); len(actions) != 0 {
		t.Fatalf("actions after one approval = %v, want none", actions)
	}
	f.post(t, "approve", tokens["bob@example.com"])
	f.post(t, "approve", tokens["carol@example.com"])
	if actions, _ := f.sent(t); len(actions) != 1 || actions[0] != "RESUME" {
		t.Errorf("actions = %v, want one RESUME", actions)
	}
}

// TestForgedVoteIsRefused: a table writer who is not one of the approval
// roles adds a vote (with another vote's MAC) to reach the quorum; the next
// approval finds the record tampered: nothing is shared, the page answers
// as for an unknown link.
func TestForgedVoteIsRefused(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, tokens := f.namedRequest(t, f.named(t, 3))
	f.pending(t, tokens["alice@example.com"])
	item := f.env.RequestItem(t)
	votes := item["votes"].(*dbtypes.AttributeValueMemberM).Value
	alice := votes["alice@example.com"]
	dev := f.env.Developer(t, f.role)
	_, err := dev.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(f.env.Table), Key: map[string]dbtypes.AttributeValue{"id": item["id"]},
		UpdateExpression:          aws.String("SET votes.#e = :v"),
		ExpressionAttributeNames:  map[string]string{"#e": "bob@example.com"},
		ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":v": alice},
	})
	if err != nil {
		t.Fatalf("forge the vote: %v", err)
	}
	resp := f.post(t, "approve", tokens["carol@example.com"])
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("approval on a forged record: %d (%s), want 404", resp.StatusCode, pageTitle(resp))
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
		t.Errorf("shared on a forged vote: %v", got)
	}
}
