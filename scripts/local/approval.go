package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/apigateway"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// amiApprovalScenario walks an Image Builder build through its approval.
// Register it in scenarios (scenarios.go).
var amiApprovalScenario = scenario{
	name:      "ami-approval",
	about:     "an Image Builder build is emailed for approval and shared only when approved; a forged message is refused; a stopped approval is finished by the sweeper; a paused workflow build is approved and resumed; a forged decisions item is refused and reported",
	functions: []string{"ami-approval-request", "ami-approval-link", "ami-approval-sweeper"},
	run:       amiApproval,
}

// The sample events' placeholders, and who the local run shares with.
const (
	approvalSampleEast = "ami-0123456789abcdef0"
	approvalSampleWest = "ami-0fedcba9876543210"
	approvalTargets    = "111111111111,222222222222"
)

var approvalLink = regexp.MustCompile(`https?://\S+\?token=[A-Za-z0-9_-]{43}`)

// approvalRun is the scenario's state: moto clients, and the page served on
// loopback by the built ami-approval-link, as API Gateway would serve it.
type approvalRun struct {
	r                     *runner
	approver, target, ops *approvaltest.Inbox
	page                  string // the page's base URL
	amis                  map[string]string
	ib                    *fakeimagebuilder.Server
	table                 string
	settings              approval.Settings // the functions', for the in-process stand-ins
}

func amiApproval(ctx context.Context, r *runner) error {
	r.note("moto has no Image Builder: a fake one on loopback (shared/testkit/fakeimagebuilder, reached through")
	r.note("AWS_ENDPOINT_URL_IMAGEBUILDER) answers GetImage with each build's output AMIs; the SNS message is")
	r.note("the sample event, and the AMIs are made in moto with the tags Image Builder puts on its own.")
	r.note("Approvers and targets read their email from SQS queues subscribed to the two topics; the page")
	r.note("is served on loopback by the built ami-approval-link through a local stand-in for API Gateway.")
	const table = "ami-approval-decisions"
	ib, err := fakeimagebuilder.Start()
	if err != nil {
		return err
	}
	defer ib.Close()
	a := &approvalRun{r: r, amis: map[string]string{}, ib: ib, table: table}

	if err := a.createTable(ctx, table); err != nil {
		return err
	}
	snsc, sqsc := sns.NewFromConfig(r.cfg), sqs.NewFromConfig(r.cfg)
	approverTopic, err := approvaltest.MakeTopic(ctx, snsc, "ami-approvers")
	if err != nil {
		return err
	}
	targetTopic, err := approvaltest.MakeTopic(ctx, snsc, "ami-shared")
	if err != nil {
		return err
	}
	if a.approver, err = approvaltest.MakeInbox(ctx, snsc, sqsc, approverTopic); err != nil {
		return err
	}
	if a.target, err = approvaltest.MakeInbox(ctx, snsc, sqsc, targetTopic); err != nil {
		return err
	}
	opsTopic, err := approvaltest.MakeTopic(ctx, snsc, "lambda-suite-ops")
	if err != nil {
		return err
	}
	if a.ops, err = approvaltest.MakeInbox(ctx, snsc, sqsc, opsTopic); err != nil {
		return err
	}
	proofKey, err := awstest.MakeHMACKey(ctx, kms.NewFromConfig(r.cfg))
	if err != nil {
		return fmt.Errorf("make the proof key: %w", err)
	}

	// The page's address must be known before the request function makes
	// links, so listen first and serve once the function runs.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.page = "http://" + ln.Addr().String() + "/"
	env := []string{
		"APPROVER_TOPIC_ARN=" + approverTopic, "TARGET_TOPIC_ARN=" + targetTopic,
		"TARGET_ACCOUNT_IDS=" + approvalTargets, "APPROVAL_URL=" + a.page, "DECISIONS_TABLE=" + table,
		"PROOF_KEY_ARN=" + proofKey, ib.Env(),
	}
	a.settings = approval.Settings{ApproverTopicARN: approverTopic, TargetTopicARN: targetTopic, ApprovalURL: a.page, Table: table,
		Targets: approval.Targets{Accounts: strings.Split(approvalTargets, ",")}, LinkTTL: approval.DefaultLinkTTL, ProofKeyARN: proofKey}
	request, err := r.start("ami-approval-request", env...)
	if err != nil {
		ln.Close()
		return err
	}
	defer request.Close()
	link, err := r.start("ami-approval-link", env...)
	if err != nil {
		ln.Close()
		return err
	}
	defer link.Close()
	sweeper, err := r.start("ami-approval-sweeper", append(env, "OPS_TOPIC_ARN="+opsTopic)...)
	if err != nil {
		ln.Close()
		return err
	}
	defer sweeper.Close()
	srv := &http.Server{Handler: apigateway.Handler(a.invokeLink(link)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	sample, err := r.event("ami-approval-request", "available-multi-region.json")
	if err != nil {
		return err
	}
	im, err := approvaltest.SampleImage(sample)
	if err != nil {
		return err
	}
	for region, placeholder := range map[string]string{"us-east-1": approvalSampleEast, "eu-west-1": approvalSampleWest} {
		id, err := a.goldenAMI(ctx, region, im.ARN)
		if err != nil {
			return err
		}
		a.amis[region] = id
		sample = bytes.ReplaceAll(sample, []byte(placeholder), []byte(id))
	}
	a.built(im, a.amis["us-east-1"], a.amis["eu-west-1"])

	r.step("EC2 Image Builder finished %s (available-multi-region.json, AMIs → %s in us-east-1, %s in eu-west-1)",
		im.ARN, a.amis["us-east-1"], a.amis["eu-west-1"])
	if _, err := r.invoke(ctx, request, sample); err != nil {
		return err
	}
	mails, err := a.approver.Read(ctx)
	if err != nil {
		return err
	}
	r.check(ib.Count("GetImage") == 1, "the request function asked Image Builder for the build (GetImage calls %d)", ib.Count("GetImage"))
	r.check(len(mails) == 1, "the approvers got 1 email (found %d)", len(mails))
	if len(mails) == 0 {
		return errors.New("no approval email")
	}
	r.check(strings.Contains(mails[0].Body, "golden-al2023 1.0.5 eu-west-1  created "), "the email names the AMIs as EC2 does, with their creation dates")
	a.printMail("email to the approvers", mails[0])
	linkURL := approvalLink.FindString(mails[0].Body)
	r.check(strings.HasPrefix(linkURL, a.page), "the email has a link to the page")
	if linkURL == "" {
		return errors.New("no link in the approval email")
	}

	r.step("SNS delivers the same message again")
	if _, err := r.invoke(ctx, request, sample); err != nil {
		return err
	}
	mails, err = a.approver.Read(ctx)
	if err != nil {
		return err
	}
	r.check(len(mails) == 0, "no second email (found %d)", len(mails))

	r.step("the approver opens the link (GET), as a mail scanner would first")
	for range 2 {
		page, err := a.fetch(ctx, http.MethodGet, linkURL, nil)
		if err != nil {
			return err
		}
		r.check(page.status == http.StatusOK && strings.Contains(page.body, a.amis["eu-west-1"]) && strings.Contains(page.body, `value="approve"`),
			"200, the page lists the AMIs and has the Approve and Reject buttons")
	}
	if err := a.checkShared(ctx, false); err != nil {
		return err
	}

	token := strings.TrimPrefix(linkURL[strings.Index(linkURL, "?"):], "?token=")
	form := url.Values{"token": {token}, "decision": {approval.Approve}}
	asked := ib.Count("GetImage")
	r.step("the approver presses Approve (POST token and decision=approve)")
	page, err := a.fetch(ctx, http.MethodPost, a.page, form)
	if err != nil {
		return err
	}
	r.check(page.status == http.StatusOK && page.outcome == "shared", "200, the page confirms the AMIs are shared (outcome %q)", page.outcome)
	r.check(ib.Count("GetImage") == asked+1, "the link function asked Image Builder again before sharing (GetImage calls %d)", ib.Count("GetImage")-asked)
	if err := a.checkShared(ctx, true); err != nil {
		return err
	}
	notices, err := a.target.Read(ctx)
	if err != nil {
		return err
	}
	r.check(len(notices) == 1, "the target accounts got 1 notice (found %d)", len(notices))
	for _, n := range notices {
		a.printMail("notice to the target accounts", n)
	}

	r.step("a second Approve (a double click)")
	if page, err = a.fetch(ctx, http.MethodPost, a.page, form); err != nil {
		return err
	}
	notices, err = a.target.Read(ctx)
	if err != nil {
		return err
	}
	r.check(page.status == http.StatusOK && strings.Contains(page.body, "decided before"), "the page shows the recorded decision")
	r.check(len(notices) == 0, "no second notice (found %d)", len(notices))

	failed, err := r.event("ami-approval-request", "failed.json")
	if err != nil {
		return err
	}
	failedImage, err := approvaltest.SampleImage(failed)
	if err != nil {
		return err
	}
	approvaltest.Fail(ib, failedImage.ARN, failedImage.Reason) // as Image Builder reports it
	r.step("another build fails (failed.json)")
	if _, err := r.invoke(ctx, request, failed); err != nil {
		return err
	}
	if mails, err = a.approver.Read(ctx); err != nil {
		return err
	}
	r.check(len(mails) == 1 && !approvalLink.MatchString(mails[0].Body), "the approvers got a notice without a link")
	for _, m := range mails {
		a.printMail("notice to the approvers", m)
	}

	if err := a.forged(ctx, request); err != nil {
		return err
	}
	if err := a.stopped(ctx, request, sweeper); err != nil {
		return err
	}
	if err := a.paused(ctx, request, sweeper); err != nil {
		return err
	}
	return a.forgedDecision(ctx, sweeper)
}

// built registers a build with the fake Image Builder: its output AMIs in
// this account (us-east-1, then eu-west-1 when given) and the sample's AMI
// in another account.
func (a *approvalRun) built(im approval.Image, east string, west ...string) {
	out := fakeimagebuilder.Image{ARN: im.ARN, Name: im.Name, Version: im.Version, Status: approval.StatusAvailable, Created: time.Now().UTC(),
		AMIs: []fakeimagebuilder.AMI{{Region: "us-east-1", ID: east, Name: im.Name, AccountID: im.AccountID}}}
	for _, w := range west {
		out.AMIs = append(out.AMIs, fakeimagebuilder.AMI{Region: "eu-west-1", ID: w, Name: im.Name, AccountID: im.AccountID})
	}
	out.AMIs = append(out.AMIs, fakeimagebuilder.AMI{Region: "us-east-1", ID: "ami-0aaaabbbbccccdddd", Name: im.Name, AccountID: "210987654321"})
	a.ib.PutImage(out)
}

// forged publishes, as an insider could, a message for a real build that
// names an AMI of the insider's choosing, tagged as Image Builder tags its
// own with the build's ARN. Image Builder does not list it: refused.
func (a *approvalRun) forged(ctx context.Context, request *runtimeapi.Function) error {
	r := a.r
	sample, im, err := a.sample("available-single-region.json")
	if err != nil {
		return err
	}
	real, err := a.goldenAMI(ctx, "us-east-1", im.ARN)
	if err != nil {
		return err
	}
	a.built(im, real)
	foreign, err := a.goldenAMI(ctx, "us-east-1", im.ARN)
	if err != nil {
		return err
	}
	r.step("a forged message: build %s, naming %s (tagged %s=%s and %s=<the build>), which Image Builder did not make",
		im.ARN, foreign, approval.TagCreatedBy, approval.CreatedByImageBuilder, approval.TagImageBuilderARN)
	res, err := request.Invoke(ctx, bytes.ReplaceAll(sample, []byte(approvalSampleEast), []byte(foreign)), invokeTimeout)
	r.result(res)
	if err != nil {
		return err
	}
	var out []approval.RequestResult
	_ = json.Unmarshal(res.Payload, &out)
	r.check(len(out) == 1 && out[0].Outcome == approval.Refused && strings.Contains(out[0].Reason, foreign),
		"refused, the reason names %s", foreign)
	mails, err := a.approver.Read(ctx)
	if err != nil {
		return err
	}
	r.check(len(mails) == 1 && strings.Contains(mails[0].Body, foreign) && !approvalLink.MatchString(mails[0].Body),
		"the approvers got a notice naming it, without a link")
	for _, m := range mails {
		a.printMail("notice to the approvers", m)
	}
	shared, err := a.launchPermissions(ctx, "us-east-1", foreign)
	if err != nil {
		return err
	}
	r.check(len(shared) == 0, "%s is not shared (launch permissions %v)", foreign, shared)
	return nil
}

// stopped shows the sweeper finishing an approval whose invocation stopped
// after sharing: the build's real message is approved, and the state a
// crash after the share leaves (AMI shared, record "sharing" since before
// the lease, the targets not told) is left by the link function's code run
// in process and cut off there (crashAfterShare), since a built binary
// cannot be made to crash on cue.
func (a *approvalRun) stopped(ctx context.Context, request, sweeper *runtimeapi.Function) error {
	r := a.r
	sample, im, err := a.sample("available-single-region.json")
	if err != nil {
		return err
	}
	out, err := a.ibAMI(ctx, im.ARN)
	if err != nil {
		return err
	}
	r.step("Image Builder's own message for that build (AMI %s)", out)
	if _, err := r.invoke(ctx, request, bytes.ReplaceAll(sample, []byte(approvalSampleEast), []byte(out))); err != nil {
		return err
	}
	mails, err := a.approver.Read(ctx)
	if err != nil {
		return err
	}
	r.check(len(mails) == 1, "the approvers got 1 email (found %d)", len(mails))
	if len(mails) == 0 {
		return errors.New("no approval email")
	}
	linkURL := approvalLink.FindString(mails[0].Body)
	token := linkURL[strings.Index(linkURL, "=")+1:]

	r.step("the approver approved; the invocation shared %s and stopped before telling anyone (the link function's code, in process, cut off there)", out)
	if err := a.crashAfterShare(ctx, token); err != nil {
		return err
	}
	page, err := a.fetch(ctx, http.MethodGet, linkURL, nil)
	if err != nil {
		return err
	}
	r.check(page.outcome == "stopped" && strings.Contains(page.body, "May already be shared") && strings.Contains(page.body, "Finish sharing"),
		"the page says sharing stopped, lists %s as possibly shared, and offers to finish", out)

	event, err := r.event("ami-approval-sweeper", "scheduled.json")
	if err != nil {
		return err
	}
	for i := range 2 {
		r.step("the sweeper's schedule fires (scheduled.json), %s time", []string{"first", "second"}[i])
		res, err := sweeper.Invoke(ctx, event, invokeTimeout)
		a.printLog(res.Log)
		r.result(res)
		if err != nil {
			return err
		}
		var swept []approval.Swept
		_ = json.Unmarshal(res.Payload, &swept)
		notices, err := a.target.Read(ctx)
		if err != nil {
			return err
		}
		mails, err := a.approver.Read(ctx)
		if err != nil {
			return err
		}
		if i == 0 {
			r.check(len(swept) == 1 && swept[0].Outcome == approval.OutcomeShared, "the stopped approval is finished: shared")
			r.check(len(notices) == 1, "the target accounts got 1 notice (found %d)", len(notices))
			r.check(len(mails) == 1 && strings.Contains(mails[0].Subject, "sharing finished"), "the approvers were told")
			for _, m := range mails {
				a.printMail("notice to the approvers", m)
			}
			continue
		}
		r.check(len(swept) == 0 && len(notices) == 0 && len(mails) == 0, "nothing left to do: no share, no notice")
	}
	shared, err := a.launchPermissions(ctx, "us-east-1", out)
	if err != nil {
		return err
	}
	r.check(slices.Equal(shared, strings.Split(approvalTargets, ",")), "%s may be launched by %s (found %v)", out, approvalTargets, shared)
	page, err = a.fetch(ctx, http.MethodGet, linkURL, nil)
	if err != nil {
		return err
	}
	r.check(page.outcome == "shared", "the page now says shared (outcome %q)", page.outcome)
	return nil
}

// sample reads a sample Image Builder message and what it says.
func (a *approvalRun) sample(name string) ([]byte, approval.Image, error) {
	b, err := a.r.event("ami-approval-request", name)
	if err != nil {
		return nil, approval.Image{}, err
	}
	im, err := approvaltest.SampleImage(b)
	return b, im, err
}

// ibAMI returns the AMI the fake Image Builder lists for a build in this
// account.
func (a *approvalRun) ibAMI(ctx context.Context, imageARN string) (string, error) {
	c := imagebuilder.NewFromConfig(a.r.cfg, func(o *imagebuilder.Options) { o.BaseEndpoint = aws.String(a.ib.URL) })
	out, err := c.GetImage(ctx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(imageARN)})
	if err != nil {
		return "", fmt.Errorf("get image %s: %w", imageARN, err)
	}
	for _, ami := range out.Image.OutputResources.Amis {
		if aws.ToString(ami.AccountId) == "123456789012" {
			return aws.ToString(ami.Image), nil
		}
	}
	return "", fmt.Errorf("build %s has no AMI in this account", imageARN)
}

// crashAfterShare leaves what an approval invocation that stopped right
// after sharing its AMI leaves: the launch permission granted, the record
// "sharing" with the AMI listed as possibly shared, last written before the
// lease, and no notice. A built binary cannot be made to stop on cue, so
// the link function's code runs in process (approvaltest.Stop), as the
// account's administrator: the record it leaves is sealed as any is.
func (a *approvalRun) crashAfterShare(ctx context.Context, token string) error {
	t, err := approval.ParseToken(token)
	if err != nil {
		return err
	}
	d := approval.NewDecider(a.r.cfg, a.settings, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	d.Builds = &approval.Regional[approval.BuildAPI]{New: func(region string) approval.BuildAPI {
		return imagebuilder.NewFromConfig(a.r.cfg, func(o *imagebuilder.Options) { o.Region, o.BaseEndpoint = region, aws.String(a.ib.URL) })
	}}
	return approvaltest.Stop(ctx, d, t, time.Now().Add(-approval.SharingLease-time.Minute))
}

// forgedDecision is finding 1 of issue 18: a developer with
// dynamodb:PutItem on the decisions table (none of the suite's roles)
// writes one item, approved and left "sharing" for a real build, with
// the attacker's account as the target, and waits for the sweeper.
func (a *approvalRun) forgedDecision(ctx context.Context, sweeper *runtimeapi.Function) error {
	r := a.r
	_, im, err := a.sample("available-single-region.json")
	if err != nil {
		return err
	}
	ami, err := a.ibAMI(ctx, im.ARN)
	if err != nil {
		return err
	}
	dev, err := r.iam.NewPrincipal("developer", awstest.DefaultAccount, approvaltest.DeveloperPolicy(awstest.DefaultAccount, a.table))
	if err != nil {
		return err
	}
	r.step("a developer (dynamodb:PutItem on the table, none of the suite's roles) writes a decision: build %s approved, sharing since an hour ago, target %s",
		im.ARN, approvaltest.Attacker)
	item := approvaltest.Forge(approval.NewToken(), im.ARN, []approval.AMI{{Region: "us-east-1", ID: ami}}, []string{approvaltest.Attacker}, approval.OutcomeSharing)
	if _, err := dynamodb.NewFromConfig(r.iam.Config(r.cfg, dev)).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(a.table), Item: item}); err != nil {
		return fmt.Errorf("the developer's PutItem: %w", err)
	}
	r.check(true, "DynamoDB took the item: the developer's own policy allows it")
	event, err := r.event("ami-approval-sweeper", "scheduled.json")
	if err != nil {
		return err
	}
	r.step("the sweeper's schedule fires (scheduled.json)")
	res, err := sweeper.Invoke(ctx, event, invokeTimeout)
	a.printLog(res.Log)
	r.result(res)
	if err != nil {
		return err
	}
	var swept []approval.Swept
	_ = json.Unmarshal(res.Payload, &swept)
	r.check(len(swept) == 1 && swept[0].Ref == approvaltest.ForgedRef && swept[0].Tampered != "" && swept[0].Outcome == "",
		"refused: the item carries no MAC of the proof key, which only the approval functions' roles may use (%+v)", swept)
	shared, err := a.launchPermissions(ctx, "us-east-1", ami)
	if err != nil {
		return err
	}
	r.check(!slices.Contains(shared, approvaltest.Attacker), "%s is not shared with %s (launch permissions %v)", ami, approvaltest.Attacker, shared)
	notices, err := a.target.Read(ctx)
	if err != nil {
		return err
	}
	r.check(len(notices) == 0, "no notice to the target topic (found %d)", len(notices))
	ops, err := a.ops.Read(ctx)
	if err != nil {
		return err
	}
	r.check(len(ops) == 1 && strings.Contains(ops[0].Subject, "tampered"), "the ops topic was told (found %d messages)", len(ops))
	for _, m := range ops {
		a.printMail("notice to the operators", m)
	}
	return nil
}

// launchPermissions lists who may launch an AMI in region, sorted.
func (a *approvalRun) launchPermissions(ctx context.Context, region, ami string) ([]string, error) {
	return approvaltest.ReadLaunchPermissions(ctx, ec2.NewFromConfig(a.r.cfg, func(o *ec2.Options) { o.Region = region }), ami)
}

// invokeLink is the stand-in for API Gateway: each HTTP request becomes one
// invocation of the built function, whose log is printed.
func (a *approvalRun) invokeLink(f *runtimeapi.Function) apigateway.Func {
	return func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		var resp events.APIGatewayV2HTTPResponse
		payload, err := json.Marshal(req)
		if err != nil {
			return resp, err
		}
		res, err := f.Invoke(ctx, payload, invokeTimeout)
		a.printLog(res.Log)
		if err != nil {
			return resp, err
		}
		if res.FunctionError != nil {
			return resp, fmt.Errorf("%s: %s", res.FunctionError.Type, res.FunctionError.Message)
		}
		return resp, json.Unmarshal(res.Payload, &resp)
	}
}

type fetched struct {
	status  int
	body    string
	outcome string
}

var (
	pageTitle   = regexp.MustCompile(`<h1>([^<]*)</h1>`)
	pageOutcome = regexp.MustCompile(`<p id="outcome" class="outcome outcome-([a-z]+)"[^>]*>([^<]*)</p>`)
)

// fetch requests the page as a browser would, and prints what came back.
func (a *approvalRun) fetch(ctx context.Context, method, target string, form url.Values) (fetched, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return fetched{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("User-Agent", "make-local (lambda-suite)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fetched{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fetched{}, err
	}
	f := fetched{status: resp.StatusCode, body: string(b)}
	title := ""
	if m := pageTitle.FindStringSubmatch(f.body); m != nil {
		title = m[1]
	}
	a.r.note("HTTP   %s %d %q", method, f.status, title)
	if m := pageOutcome.FindStringSubmatch(f.body); m != nil {
		f.outcome = m[1]
		a.r.note("       %s", m[2])
	}
	a.r.note("       Cache-Control: %s; Referrer-Policy: %s", resp.Header.Get("Cache-Control"), resp.Header.Get("Referrer-Policy"))
	return f, nil
}

// checkShared checks each AMI's launch permissions in its own Region.
func (a *approvalRun) checkShared(ctx context.Context, want bool) error {
	targets := strings.Split(approvalTargets, ",")
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		who, err := a.launchPermissions(ctx, region, a.amis[region])
		if err != nil {
			return err
		}
		if want {
			a.r.check(slices.Equal(who, targets), "%s in %s may be launched by %s (found %v)", a.amis[region], region, approvalTargets, who)
		} else {
			a.r.check(len(who) == 0, "%s in %s is not shared (launch permissions %v)", a.amis[region], region, who)
		}
	}
	return nil
}

func (a *approvalRun) printMail(what string, m approvaltest.Message) {
	a.r.note("%s, subject %q:", what, m.Subject)
	sc := bufio.NewScanner(strings.NewReader(m.Body))
	for sc.Scan() {
		a.r.note("  │ %s", sc.Text())
	}
}

func (a *approvalRun) printLog(log []byte) {
	sc := bufio.NewScanner(bytes.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			a.r.note("log    %s", logLine(line))
		}
	}
}

// createTable makes the decisions table as the stack does (TTL on expiresAt).
func (a *approvalRun) createTable(ctx context.Context, name string) error {
	return awstest.MakeTable(ctx, dynamodb.NewFromConfig(a.r.cfg), name, "expiresAt")
}

// goldenAMI makes an AMI in region as Image Builder leaves one.
func (a *approvalRun) goldenAMI(ctx context.Context, region, imageARN string) (string, error) {
	c := ec2.NewFromConfig(a.r.cfg, func(o *ec2.Options) { o.Region = region })
	return approvaltest.MakeGoldenAMI(ctx, c, region, imageARN, "golden-al2023 1.0.5 "+region)
}
