package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const approvalURL = "https://approvals.example.com/"

var linkPattern = regexp.MustCompile(regexp.QuoteMeta(approvalURL) + `\?token=([A-Za-z0-9_-]{43})\n`)

// sample reads a sample event from events/, as SNS delivers it.
func sample(t *testing.T, name string) events.SNSEvent {
	t.Helper()
	return samples.Event[events.SNSEvent](t, "ami-approval-request", name)
}

func snsEvent(message string) events.SNSEvent {
	return events.SNSEvent{Records: []events.SNSEventRecord{{SNS: events.SNSEntity{MessageID: "m-1", Message: message}}}}
}

type fixture struct {
	env   *approvaltest.Env
	calls *awstest.Calls
	h     *handler
	// role is the function's role, whose Config its clients are built on.
	role *iam.Function
}

func newFixture(t *testing.T) fixture { return newFixtureWith(t, nil) }

// newFixtureWith is newFixture with the function's clients built on
// wrap(config), such as a config whose calls go through injected faults.
func newFixtureWith(t *testing.T, wrap func(aws.Config) aws.Config) fixture {
	t.Helper()
	env := approvaltest.New(t)
	calls := awstest.NewCalls()
	// The function's calls run under its role, as infra/sam writes it.
	role := env.As(t, approvaltest.RequestFunction)
	fnCfg := role.Config.Copy()
	if wrap != nil {
		fnCfg = wrap(fnCfg)
	}
	fnCfg.APIOptions = append(fnCfg.APIOptions, calls.Middleware)
	s := env.Settings(approvalURL)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	return fixture{env: env, calls: calls, role: role, h: &handler{log: log, requests: &approval.Requester{
		Store:  env.Store(fnCfg),
		Builds: env.Builds(fnCfg), EC2: env.Names(fnCfg),
		SNS: sns.NewFromConfig(fnCfg), ApproverTopicARN: s.ApproverTopicARN,
		Targets: s.Targets, ApprovalURL: s.ApprovalURL, LinkTTL: s.LinkTTL, Log: log,
	}}}
}

// own returns a sample as this account's Image Builder sends it: its
// build and AMIs are the account's (approvaltest.Env.Own).
func (f fixture) own(ev events.SNSEvent) events.SNSEvent {
	ev.Records = append([]events.SNSEventRecord(nil), ev.Records...)
	for i := range ev.Records {
		ev.Records[i].SNS.Message = f.env.Own(ev.Records[i].SNS.Message)
	}
	return ev
}

// built makes the AMIs of a sample's message in this account (named
// "EC2 name <region>", unlike the message's names), registers the build
// with Image Builder, and returns the sample, as this account's (own),
// with the AMIs' real IDs.
func (f fixture) built(t *testing.T, ev events.SNSEvent) events.SNSEvent {
	t.Helper()
	ev = f.own(ev)
	im, err := approval.ParseImage([]byte(ev.Records[0].SNS.Message))
	if err != nil {
		t.Fatal(err)
	}
	msg := ev.Records[0].SNS.Message
	var amis []approval.AMI
	for _, a := range im.AMIs {
		id := approvaltest.GoldenAMI(t, f.env.EC2(a.Region), a.Region, im.ARN, "EC2 name "+a.Region)
		msg = strings.ReplaceAll(msg, a.ID, id)
		amis = append(amis, approval.AMI{Region: a.Region, ID: id})
	}
	f.env.Built(im.ARN, amis...)
	ev.Records[0].SNS.Message = msg
	return ev
}

func (f fixture) handle(t *testing.T, ev events.SNSEvent, want string) approval.RequestResult {
	t.Helper()
	res, err := f.h.Handle(context.Background(), ev)
	if err != nil || len(res) != 1 || res[0].Outcome != want {
		t.Fatalf("Handle = %+v, %v, want one result with outcome %s", res, err, want)
	}
	return res[0]
}

func TestAvailableBuildEmailsOneLink(t *testing.T) {
	f := newFixture(t)
	ev := f.built(t, sample(t, "available-single-region.json"))
	ami := approvaltest.AMIs(t, ev)[0]

	res := f.handle(t, ev, approval.Requested)
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("approver emails = %d, want 1", len(mails))
	}
	mail := mails[0]
	if want := "Approve sharing of AMI build golden-al2023 1.0.4"; mail.Subject != want {
		t.Errorf("subject = %q, want %q", mail.Subject, want)
	}
	for _, want := range []string{
		f.env.Own("arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2"), // what was built
		ami + "  us-east-1  EC2 name us-east-1  created ",                                    // EC2's name and date, not the message's
		"accounts 111111111111, 222222222222",                                                // who it will be shared with
		"The link expires ", "(in 3 days)",                                                   // when the link expires
		"Request: " + res.Ref,
	} {
		if !strings.Contains(mail.Body, want) {
			t.Errorf("email does not say %q:\n%s", want, mail.Body)
		}
	}
	m := linkPattern.FindStringSubmatch(mail.Body)
	if m == nil {
		t.Fatalf("email has no link %s?token=…:\n%s", approvalURL, mail.Body)
	}
	token := m[1]

	// The token is stored only as its SHA-256 hash.
	sum := sha256.Sum256([]byte(token))
	hashed := "request#" + hex.EncodeToString(sum[:])
	var found bool
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, token) {
			t.Errorf("the table holds the token in clear: %s", item)
		}
		found = found || strings.Contains(item, "id="+hashed+" ")
	}
	if !found {
		t.Errorf("no request item with id %s", hashed)
	}
	if n := len(f.env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices = %d, want 0 before any approval", n)
	}

	// SNS delivers at least once: the same message again.
	f.calls.Reset()
	f.handle(t, ev, approval.Duplicate)
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("emails after redelivery = %d, want 0", n)
	}
	if n := f.calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("Publish calls on redelivery = %d, want 0", n)
	}
}

func TestFailedBuildSendsNoticeWithoutLink(t *testing.T) {
	f := newFixture(t)
	ev := f.own(sample(t, "failed.json"))
	// As Image Builder reports it: the notice's reason is Image Builder's.
	f.env.Failed(mustImage(t, ev).ARN, "Image Builder could not run the test workflow: instance i-0abc123 failed the reachability check.")

	f.handle(t, ev, approval.FailureNotified)
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("approver messages = %d, want 1 failure notice", len(mails))
	}
	if want := "AMI build golden-al2023 1.0.6 FAILED"; mails[0].Subject != want {
		t.Errorf("subject = %q, want %q", mails[0].Subject, want)
	}
	for _, want := range []string{"status FAILED", "nothing is shared", "failed the reachability check"} {
		if !strings.Contains(mails[0].Body, want) {
			t.Errorf("notice does not say %q:\n%s", want, mails[0].Body)
		}
	}
	if strings.Contains(mails[0].Body, "token=") || strings.Contains(mails[0].Body, approvalURL) {
		t.Errorf("failure notice carries a link:\n%s", mails[0].Body)
	}
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, "id=request#") {
			t.Errorf("a failed build made a request: %s", item)
		}
	}

	f.handle(t, ev, approval.Duplicate)
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("notices after redelivery = %d, want 0", n)
	}
}

func TestMultiRegionBuildListsEveryAMI(t *testing.T) {
	f := newFixture(t)
	ev := f.built(t, sample(t, "available-multi-region.json"))
	amis := approvaltest.AMIs(t, ev)
	res := f.handle(t, ev, approval.Requested)
	if want := []string{"us-east-1/" + amis[0], "eu-west-1/" + amis[1]}; strings.Join(res.AMIs, " ") != strings.Join(want, " ") {
		t.Errorf("request AMIs = %v, want %v", res.AMIs, want)
	}
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("approver emails = %d, want 1", len(mails))
	}
	for _, want := range []string{
		amis[0] + "  us-east-1  EC2 name us-east-1", amis[1] + "  eu-west-1  EC2 name eu-west-1",
		"Not part of this approval (distributed to other accounts):\n  ami-0aaaabbbbccccdddd  us-east-1",
	} {
		if !strings.Contains(mails[0].Body, want) {
			t.Errorf("email does not say %q:\n%s", want, mails[0].Body)
		}
	}
}

func TestMessagesThatAreNotImagesChangeNothing(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		ev   events.SNSEvent
	}{
		{"CloudWatch alarm (not-an-image.json)", sample(t, "not-an-image.json")},
		{"plain text", snsEvent("Build finished, please check")},
		{"JSON null", snsEvent("null")},
		{"container image", snsEvent(`{"arn":"arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1","type":"DOCKER","state":{"status":"AVAILABLE"}}`)},
		{"AVAILABLE without AMIs", snsEvent(`{"arn":"arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1","state":{"status":"AVAILABLE"},"outputResources":{"amis":[]}}`)},
		{"AMI in a made-up Region", snsEvent(`{"arn":"arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1","state":{"status":"AVAILABLE"},"outputResources":{"amis":[{"region":"evil.example.com/","image":"ami-0123456789abcdef0"}]}}`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			res, err := f.h.Handle(context.Background(), tt.ev)
			if err != nil || len(res) != 1 || res[0].Outcome != approval.NotAnImage || res[0].Reason == "" {
				t.Errorf("Handle = %+v, %v, want outcome %s with a reason and no error", res, err, approval.NotAnImage)
			}
			if n := f.calls.Total(); n != 0 {
				t.Errorf("AWS calls = %d (%s), want none", n, f.calls)
			}
		})
	}
	if n := len(f.env.Approver.Receive(t)); n != 0 {
		t.Errorf("approver messages = %d, want 0", n)
	}
}

// TestFailedPublishIsRetriedWithANewLink: when SNS refuses the email, Lambda
// retries; the retry must send the email (its link replacing the unsent
// one), not take the build for handled.
func TestFailedPublishIsRetriedWithANewLink(t *testing.T) {
	f := newFixture(t)
	ev := f.built(t, sample(t, "available-single-region.json"))
	topic := f.h.requests.ApproverTopicARN
	f.h.requests.ApproverTopicARN = topic + "-missing"
	if _, err := f.h.Handle(context.Background(), ev); err == nil {
		t.Fatal("Handle with a missing topic = nil error, want one so that Lambda retries")
	}

	f.h.requests.ApproverTopicARN = topic
	res := f.handle(t, ev, approval.Requested)
	if !res.Replaced {
		t.Errorf("retry result %+v, want Replaced", res)
	}
	if n := len(f.env.Approver.Receive(t)); n != 1 {
		t.Errorf("emails after the retry = %d, want 1", n)
	}
	var requests int
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, "id=request#") {
			requests++
		}
	}
	if requests != 1 {
		t.Errorf("request items = %d, want 1 (the unsent one replaced)", requests)
	}
}

// TestForgedMessageIsRefused: a message naming an AMI that Image Builder
// does not list for the build makes no request and no link, even when the
// AMI carries both Image Builder tags with the build's ARN; the approvers
// get a notice naming the AMI, and the build's real message still works.
func TestForgedMessageIsRefused(t *testing.T) {
	f := newFixture(t)
	genuine := f.built(t, sample(t, "available-single-region.json"))
	im, err := approval.ParseImage([]byte(genuine.Records[0].SNS.Message))
	if err != nil {
		t.Fatal(err)
	}
	foreign := approvaltest.GoldenAMI(t, f.env.EC2("us-east-1"), "us-east-1", im.ARN, "golden-al2023 looks right")
	forged := genuine
	forged.Records = []events.SNSEventRecord{genuine.Records[0]}
	forged.Records[0].SNS.Message = strings.Replace(genuine.Records[0].SNS.Message, im.AMIs[0].ID, foreign, 1)

	res := f.handle(t, forged, approval.Refused)
	if !strings.Contains(res.Reason, foreign) || !strings.Contains(res.Reason, "does not list") {
		t.Errorf("refusal reason %q does not name %s", res.Reason, foreign)
	}
	mails := f.env.Approver.Receive(t)
	if len(mails) != 1 || !strings.Contains(mails[0].Body, foreign) || strings.Contains(mails[0].Body, "token=") {
		t.Fatalf("approver messages = %+v, want one notice naming %s, without a link", mails, foreign)
	}
	for _, item := range f.env.Items(t) {
		if strings.Contains(item, "id=request#") || strings.Contains(item, "id=image#") {
			t.Errorf("a refused message left an item: %s", item)
		}
	}
	// The forgery did not claim the build: Image Builder's own message
	// still gets its approval email.
	f.handle(t, genuine, approval.Requested)
	if n := len(f.env.Approver.Receive(t)); n != 1 {
		t.Errorf("emails for the genuine message = %d, want 1", n)
	}
}

// TestBuildImageBuilderDoesNotKnowIsRefused: no build, no request.
func TestBuildImageBuilderDoesNotKnowIsRefused(t *testing.T) {
	f := newFixture(t)
	res := f.handle(t, f.own(sample(t, "available-single-region.json")), approval.Refused)
	if !strings.Contains(res.Reason, "Image Builder has no build") {
		t.Errorf("reason = %q, want Image Builder has no build", res.Reason)
	}
	if n := f.env.IB.Count("GetImage"); n != 1 {
		t.Errorf("GetImage calls = %d, want 1", n)
	}
}
