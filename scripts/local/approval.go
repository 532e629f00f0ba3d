package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/awstest"
	"github.com/ebs-ops/lambda-suite/shared/runtimeapi"
)

// amiApprovalScenario walks an Image Builder build through its approval.
// Register it in scenarios (scenarios.go).
var amiApprovalScenario = scenario{
	name:      "ami-approval",
	about:     "an Image Builder build is emailed for approval, and shared only when the link's page is approved",
	functions: []string{"ami-approval-request", "ami-approval-link"},
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
	r                *runner
	approver, target *inbox
	page             string // the page's base URL
	amis             map[string]string
}

func amiApproval(ctx context.Context, r *runner) error {
	r.note("moto has no Image Builder: its SNS message is the sample event, and the AMIs are made")
	r.note("with the tags Image Builder puts on its own. Approvers and targets read their email from")
	r.note("SQS queues subscribed to the two topics; the page is served on loopback by the built")
	r.note("ami-approval-link through a local stand-in for API Gateway (payload format 2.0).")
	a := &approvalRun{r: r, amis: map[string]string{}}

	const table = "ami-approval-decisions"
	if err := a.createTable(ctx, table); err != nil {
		return err
	}
	snsc, sqsc := sns.NewFromConfig(r.cfg), sqs.NewFromConfig(r.cfg)
	approverTopic, err := createTopic(ctx, snsc, "ami-approvers")
	if err != nil {
		return err
	}
	targetTopic, err := createTopic(ctx, snsc, "ami-shared")
	if err != nil {
		return err
	}
	if a.approver, err = newInbox(ctx, snsc, sqsc, approverTopic); err != nil {
		return err
	}
	if a.target, err = newInbox(ctx, snsc, sqsc, targetTopic); err != nil {
		return err
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
	}
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
	srv := &http.Server{Handler: approval.HTTPHandler(a.invokeLink(link)), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	sample, err := r.event("ami-approval-request", "available-multi-region.json")
	if err != nil {
		return err
	}
	im, err := approvalImage(sample)
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

	r.step("EC2 Image Builder finished %s (available-multi-region.json, AMIs → %s in us-east-1, %s in eu-west-1)",
		im.ARN, a.amis["us-east-1"], a.amis["eu-west-1"])
	if _, err := r.invoke(ctx, request, sample); err != nil {
		return err
	}
	mails, err := a.approver.receive(ctx)
	if err != nil {
		return err
	}
	r.check(len(mails) == 1, "the approvers got 1 email (found %d)", len(mails))
	if len(mails) == 0 {
		return errors.New("no approval email")
	}
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
	mails, err = a.approver.receive(ctx)
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
	r.step("the approver presses Approve (POST token and decision=approve)")
	page, err := a.fetch(ctx, http.MethodPost, a.page, form)
	if err != nil {
		return err
	}
	r.check(page.status == http.StatusOK && page.outcome == "shared", "200, the page confirms the AMIs are shared (outcome %q)", page.outcome)
	if err := a.checkShared(ctx, true); err != nil {
		return err
	}
	notices, err := a.target.receive(ctx)
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
	notices, err = a.target.receive(ctx)
	if err != nil {
		return err
	}
	r.check(page.status == http.StatusOK && strings.Contains(page.body, "decided before"), "the page shows the recorded decision")
	r.check(len(notices) == 0, "no second notice (found %d)", len(notices))

	failed, err := r.event("ami-approval-request", "failed.json")
	if err != nil {
		return err
	}
	r.step("another build fails (failed.json)")
	if _, err := r.invoke(ctx, request, failed); err != nil {
		return err
	}
	if mails, err = a.approver.receive(ctx); err != nil {
		return err
	}
	r.check(len(mails) == 1 && !approvalLink.MatchString(mails[0].Body), "the approvers got a notice without a link")
	for _, m := range mails {
		a.printMail("notice to the approvers", m)
	}
	return nil
}

// invokeLink is the stand-in for API Gateway: each HTTP request becomes one
// invocation of the built function, whose log is printed.
func (a *approvalRun) invokeLink(f *runtimeapi.Function) approval.HTTPFunc {
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
		c := ec2.NewFromConfig(a.r.cfg, func(o *ec2.Options) { o.Region = region })
		out, err := c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
			ImageId: aws.String(a.amis[region]), Attribute: types.ImageAttributeNameLaunchPermission,
		})
		if err != nil {
			return fmt.Errorf("describe launch permissions of %s: %w", a.amis[region], err)
		}
		var who []string
		for _, p := range out.LaunchPermissions {
			who = append(who, aws.ToString(p.UserId))
		}
		slices.Sort(who)
		if want {
			a.r.check(slices.Equal(who, targets), "%s in %s may be launched by %s (found %v)", a.amis[region], region, approvalTargets, who)
		} else {
			a.r.check(len(who) == 0, "%s in %s is not shared (launch permissions %v)", a.amis[region], region, who)
		}
	}
	return nil
}

func (a *approvalRun) printMail(what string, m mail) {
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

func (a *approvalRun) createTable(ctx context.Context, name string) error {
	db := dynamodb.NewFromConfig(a.r.cfg)
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []dbtypes.AttributeDefinition{{AttributeName: aws.String("id"), AttributeType: dbtypes.ScalarAttributeTypeS}},
		KeySchema:            []dbtypes.KeySchemaElement{{AttributeName: aws.String("id"), KeyType: dbtypes.KeyTypeHash}},
		BillingMode:          dbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		return fmt.Errorf("create table %s: %w", name, err)
	}
	return nil
}

// goldenAMI makes an AMI in region as Image Builder leaves one.
func (a *approvalRun) goldenAMI(ctx context.Context, region, imageARN string) (string, error) {
	c := ec2.NewFromConfig(a.r.cfg, func(o *ec2.Options) { o.Region = region })
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(awstest.AMI), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT3Micro,
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
			{Key: aws.String("Name"), Value: aws.String("Image Builder build instance")},
		}}},
	})
	if err != nil {
		return "", fmt.Errorf("build instance in %s: %w", region, err)
	}
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: run.Instances[0].InstanceId, Name: aws.String("golden-al2023 1.0.5 " + region),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{
			{Key: aws.String(approval.TagCreatedBy), Value: aws.String(approval.CreatedByImageBuilder)},
			{Key: aws.String(approval.TagImageBuilderARN), Value: aws.String(imageARN)},
		}}},
	})
	if err != nil {
		return "", fmt.Errorf("create AMI in %s: %w", region, err)
	}
	// Image Builder terminates its build instance.
	_, err = c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}})
	if err != nil {
		return "", fmt.Errorf("terminate build instance in %s: %w", region, err)
	}
	return aws.ToString(img.ImageId), nil
}

func approvalImage(event []byte) (approval.Image, error) {
	var ev events.SNSEvent
	if err := json.Unmarshal(event, &ev); err != nil || len(ev.Records) == 0 {
		return approval.Image{}, fmt.Errorf("sample event: %v", err)
	}
	return approval.ParseImage([]byte(ev.Records[0].SNS.Message))
}

func createTopic(ctx context.Context, c *sns.Client, name string) (string, error) {
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create topic %s: %w", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

// inbox is an SQS queue subscribed to a topic: what an email subscriber
// would get.
type inbox struct {
	sqs *sqs.Client
	url string
}

type mail struct{ Subject, Body string }

func newInbox(ctx context.Context, snsc *sns.Client, sqsc *sqs.Client, topic string) (*inbox, error) {
	name := topic[strings.LastIndexByte(topic, ':')+1:] + "-inbox"
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("create queue %s: %w", name, err)
	}
	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", name, err)
	}
	_, err = snsc.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s to %s: %w", name, topic, err)
	}
	return &inbox{sqs: sqsc, url: aws.ToString(q.QueueUrl)}, nil
}

// receive returns and removes every message in the inbox.
func (i *inbox) receive(ctx context.Context) ([]mail, error) {
	var out []mail
	for {
		page, err := i.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(i.url), MaxNumberOfMessages: 10})
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if len(page.Messages) == 0 {
			return out, nil
		}
		for _, m := range page.Messages {
			var env mail
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &struct {
				Subject *string
				Message *string
			}{&env.Subject, &env.Body}); err != nil {
				return nil, fmt.Errorf("SQS body is not an SNS envelope: %w", err)
			}
			out = append(out, env)
			if _, err := i.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(i.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, fmt.Errorf("delete message: %w", err)
			}
		}
	}
}
