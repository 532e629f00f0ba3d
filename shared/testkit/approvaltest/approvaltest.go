// Package approvaltest sets up a moto account for the approval functions'
// tests: the decisions table, the approver and target topics with an SQS
// queue subscribed to each (what SNS sent is read back from there), and
// AMIs tagged as EC2 Image Builder tags its own, and a fake Image Builder
// that knows the builds a test registers (Built).
//
// Each helper that takes a testing.TB is a thin wrapper that stops the test
// on an error; its core returns the error instead (MakeTopic, MakeInbox,
// Inbox.Read, MakeGoldenAMI, ReadLaunchPermissions), for make local, which
// is a program, not a test.
package approvaltest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
)

// Targets are the accounts the tests share with.
var Targets = approval.Targets{Accounts: []string{"111111111111", "222222222222"}}

// Template is the capability's SAM template (under infra/sam), whose roles
// the functions' clients run under (As).
const Template = "ami-approval.yaml"

// The functions' logical IDs in Template.
const (
	RequestFunction = "AmiApprovalRequestFunction"
	LinkFunction    = "AmiApprovalLinkFunction"
	SweeperFunction = "AmiApprovalSweeperFunction"
)

// The names of the account's topics, as New makes them.
const (
	ApproverTopicName = "ami-approval-approvers"
	TargetTopicName   = "ami-approval-targets"
	OpsTopicName      = "ami-approval-ops"
)

// The named approvers' SES identity and sender, as the roles in As have
// them: a domain identity, and an address of it.
const (
	SESIdentity = "example.com"
	From        = "approvals@example.com"
)

// SampleAccount is the account that the sample events under
// events/ami-approval-request and the tests' own build ARNs name as the
// build's (Own rewrites it).
const SampleAccount = "123456789012"

// Env is one test's moto account, set up for the approval functions.
type Env struct {
	Cfg      aws.Config
	Account  string
	DynamoDB *dynamodb.Client
	SNS      *sns.Client
	Table    string
	// ApproverTopic and TargetTopic are topic ARNs; Approver and Target read
	// what was published to them.
	ApproverTopic, TargetTopic string
	Approver, Target           *Inbox
	// OpsTopic is the operational topic (OPS_TOPIC_ARN) and Ops its inbox:
	// what the sweeper tells operators (tampered records, no confirmed
	// approver).
	OpsTopic string
	Ops      *Inbox
	// ProofKey is the ARN of the HMAC_256 key the records are sealed with
	// (PROOF_KEY_ARN; the stack's AmiApprovalProofKey).
	ProofKey string
	// IB is the fake Image Builder the account's builds are registered in.
	IB *fakeimagebuilder.Server

	// layers are the URLs of the IAM layers As started, which route Image
	// Builder to IB themselves.
	layers map[string]bool
}

// New sets up a fresh moto account. The clients it returns are the test's
// own (the account's admin, for setup and checks); give the code under test
// clients made from the Config of As.
func New(tb testing.TB) *Env {
	tb.Helper()
	cfg, acct := awstest.Moto(tb).Config(tb)
	e := &Env{Cfg: cfg, Account: acct, DynamoDB: dynamodb.NewFromConfig(cfg), SNS: sns.NewFromConfig(cfg), Table: "ami-approval-decisions",
		IB: fakeimagebuilder.New(tb)}
	CreateTable(tb, e.DynamoDB, e.Table)
	sqsc := sqs.NewFromConfig(cfg)
	e.ApproverTopic = CreateTopic(tb, e.SNS, ApproverTopicName)
	e.TargetTopic = CreateTopic(tb, e.SNS, TargetTopicName)
	e.Approver = NewInbox(tb, e.SNS, sqsc, e.ApproverTopic)
	e.Target = NewInbox(tb, e.SNS, sqsc, e.TargetTopic)
	e.OpsTopic = CreateTopic(tb, e.SNS, OpsTopicName)
	e.Ops = NewInbox(tb, e.SNS, sqsc, e.OpsTopic)
	e.ProofKey = awstest.HMACKey(tb, kms.NewFromConfig(cfg))
	return e
}

// EC2 returns an EC2 client of the account in region.
func (e *Env) EC2(region string) *ec2.Client {
	return ec2.NewFromConfig(e.Cfg, func(o *ec2.Options) { o.Region = region })
}

// As runs a function's calls under its role (function is its logical ID
// in Template): the returned Function's Config is what the function's
// clients are built on. Its IAM layer knows the account's table and
// topics, shares with Targets, and routes Image Builder to IB.
func (e *Env) As(tb testing.TB, function string) *iam.Function {
	tb.Helper()
	fn := iam.As(tb, e.Cfg, e.Account, Template, function, iam.Options{
		Names: map[string]string{
			"AmiApprovalTable":         e.Table,
			"AmiApprovalApproverTopic": ApproverTopicName,
			"AmiApprovalTargetTopic":   TargetTopicName,
			"OpsTopic":                 OpsTopicName,
			// A key is bound by its ID, the last part of its ARN.
			"AmiApprovalProofKey": e.ProofKey[strings.LastIndexByte(e.ProofKey, '/')+1:],
		},
		Parameters: map[string]string{"AmiApprovalTargetAccountIds": strings.Join(Targets.Accounts, ","),
			// The named approvers' SES identity and sender (unused in the
			// SNS mode): the role may send as SESIdentity from From only.
			"AmiApprovalSesIdentity": SESIdentity, "AmiApprovalFrom": From},
		Routes: map[string]string{"imagebuilder": e.IB.URL},
	})
	if e.layers == nil {
		e.layers = map[string]bool{}
	}
	e.layers[fn.Layer.URL] = true
	return fn
}

// Own returns s (a build's ARN, a sample event's message) with
// SampleAccount replaced by the Env's account: Image Builder notifies about
// the builds of the account the functions run in, which is the one their
// roles grant Image Builder's actions in.
func (e *Env) Own(s string) string { return strings.ReplaceAll(s, SampleAccount, e.Account) }

// imageBuilder returns the options of an Image Builder client made from
// cfg in region: a configuration of As calls through its layer, which
// routes to the fake; any other (the admin's) is sent to the fake directly.
func (e *Env) imageBuilder(cfg aws.Config, region string) func(*imagebuilder.Options) {
	direct := !e.layers[aws.ToString(cfg.BaseEndpoint)]
	return func(o *imagebuilder.Options) {
		o.Region = region
		if direct {
			o.BaseEndpoint = aws.String(e.IB.URL)
		}
	}
}

// Builds returns Image Builder clients, made from cfg (the code under
// test's, with its middleware: a configuration of As, or the admin's for
// setup), that reach the fake.
func (e *Env) Builds(cfg aws.Config) *approval.Regional[approval.BuildAPI] {
	return &approval.Regional[approval.BuildAPI]{New: func(region string) approval.BuildAPI {
		return imagebuilder.NewFromConfig(cfg, e.imageBuilder(cfg, region))
	}}
}

// Names returns EC2 clients made from cfg, for the request function.
func (e *Env) Names(cfg aws.Config) *approval.Regional[approval.NameAPI] {
	return &approval.Regional[approval.NameAPI]{New: func(region string) approval.NameAPI {
		return ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.Region = region })
	}}
}

// Built registers an AVAILABLE build in the fake Image Builder, its output
// AMIs (Region and ID) in the build's own account, in the order given.
func (e *Env) Built(imageARN string, amis ...approval.AMI) { Build(e.IB, imageARN, amis...) }

// Build is Built for any fake Image Builder, for callers without an Env
// (make bench).
func Build(ib *fakeimagebuilder.Server, imageARN string, amis ...approval.AMI) {
	a, _ := arn.Parse(imageARN)
	im := image(imageARN, approval.StatusAvailable, "")
	for _, ami := range amis {
		im.AMIs = append(im.AMIs, fakeimagebuilder.AMI{Region: ami.Region, ID: ami.ID, Name: im.Name + " " + ami.Region, AccountID: a.AccountID})
	}
	ib.PutImage(im)
}

// image is a build as Image Builder describes it: named and versioned as
// its ARN says, in status, with no AMIs yet.
func image(imageARN, status, reason string) fakeimagebuilder.Image {
	a, _ := arn.Parse(imageARN)
	im := fakeimagebuilder.Image{ARN: imageARN, Status: status, Reason: reason, Created: time.Now().UTC()}
	parts := strings.Split(a.Resource, "/")
	if len(parts) >= 3 {
		im.Name, im.Version = parts[1], parts[2]
	}
	return im
}

// Settings returns the functions' settings for this account.
func (e *Env) Settings(approvalURL string) approval.Settings {
	return approval.Settings{
		ApproverTopicARN: e.ApproverTopic, TargetTopicARN: e.TargetTopic, Targets: Targets,
		ApprovalURL: approvalURL, Table: e.Table, LinkTTL: approval.DefaultLinkTTL, ProofKeyARN: e.ProofKey,
	}
}

// Store returns the decisions table's Store with clients made from cfg
// (the code under test's, or the admin's for setup), sealing with the
// account's proof key.
func (e *Env) Store(cfg aws.Config) *approval.Store {
	return approval.NewStore(cfg, e.Settings("https://approvals.example.com/"))
}

// CreateTable makes the decisions table as the stack does: a string
// partition key "id", no sort key, TTL on "expiresAt".
func CreateTable(tb testing.TB, db *dynamodb.Client, name string) {
	tb.Helper()
	awstest.CreateTable(tb, db, name, "expiresAt")
}

// CreateTopic makes an SNS topic and returns its ARN; it stops the test on
// failure.
func CreateTopic(tb testing.TB, c *sns.Client, name string) string {
	tb.Helper()
	return must(tb, func() (string, error) { return MakeTopic(context.Background(), c, name) })
}

// MakeTopic is CreateTopic returning its error, for callers that are not
// tests (make local).
func MakeTopic(ctx context.Context, c *sns.Client, name string) (string, error) {
	out, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("CreateTopic %s: %w", name, err)
	}
	return aws.ToString(out.TopicArn), nil
}

// must returns f's value, or stops the test with its error: the thin
// testing.TB wrapper of each core here.
func must[T any](tb testing.TB, f func() (T, error)) T {
	tb.Helper()
	v, err := f()
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// Inbox is an SQS queue subscribed to a topic.
type Inbox struct {
	sqs *sqs.Client
	url string
}

// Message is one SNS message as an email subscriber would get it.
type Message struct {
	Subject string
	Body    string
}

// NewInbox subscribes a new queue to topic; it stops the test on failure.
func NewInbox(tb testing.TB, snsc *sns.Client, sqsc *sqs.Client, topic string) *Inbox {
	tb.Helper()
	return must(tb, func() (*Inbox, error) { return MakeInbox(context.Background(), snsc, sqsc, topic) })
}

// MakeInbox is NewInbox returning its error (make local).
func MakeInbox(ctx context.Context, snsc *sns.Client, sqsc *sqs.Client, topic string) (*Inbox, error) {
	name := topic[strings.LastIndexByte(topic, ':')+1:] + "-inbox"
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("CreateQueue %s: %w", name, err)
	}
	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, fmt.Errorf("GetQueueAttributes %s: %w", name, err)
	}
	_, err = snsc.Subscribe(ctx, &sns.SubscribeInput{
		TopicArn: aws.String(topic), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]),
	})
	if err != nil {
		return nil, fmt.Errorf("subscribe %s to %s: %w", name, topic, err)
	}
	return &Inbox{sqs: sqsc, url: aws.ToString(q.QueueUrl)}, nil
}

// Receive returns, and removes, every message in the inbox; it stops the
// test on failure. moto delivers on publish, so there is no waiting.
func (i *Inbox) Receive(tb testing.TB) []Message {
	tb.Helper()
	return must(tb, func() ([]Message, error) { return i.Read(context.Background()) })
}

// Read is Receive returning its error (make local).
func (i *Inbox) Read(ctx context.Context) ([]Message, error) {
	var out []Message
	for {
		page, err := i.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(i.url), MaxNumberOfMessages: 10})
		if err != nil {
			return nil, fmt.Errorf("ReceiveMessage: %w", err)
		}
		if len(page.Messages) == 0 {
			return out, nil
		}
		for _, m := range page.Messages {
			// Without raw delivery, the body is SNS's JSON envelope.
			var env struct{ Subject, Message string }
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &env); err != nil {
				return nil, fmt.Errorf("SQS body is not an SNS envelope: %w", err)
			}
			out = append(out, Message{Subject: env.Subject, Body: env.Message})
			if _, err := i.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(i.url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				return nil, fmt.Errorf("DeleteMessage: %w", err)
			}
		}
	}
}

// GoldenAMI makes an AMI in region as Image Builder leaves one: available,
// tagged CreatedBy and Ec2ImageBuilderArn (imageARN), its build instance
// terminated. It stops the test on failure.
func GoldenAMI(tb testing.TB, c *ec2.Client, region, imageARN, name string) string {
	tb.Helper()
	return must(tb, func() (string, error) { return MakeGoldenAMI(context.Background(), c, region, imageARN, name) })
}

// MakeGoldenAMI is GoldenAMI returning its error (make local).
func MakeGoldenAMI(ctx context.Context, c *ec2.Client, region, imageARN, name string) (string, error) {
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(awstest.AMI), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT3Micro,
		Placement:    &types.Placement{AvailabilityZone: aws.String(region + "a")},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: []types.Tag{
			awstest.Tag("Name", "Image Builder build instance"),
		}}},
	})
	if err != nil {
		return "", fmt.Errorf("RunInstances in %s: %w", region, err)
	}
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: run.Instances[0].InstanceId, Name: aws.String(name),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{
			awstest.Tag(approval.TagCreatedBy, approval.CreatedByImageBuilder),
			awstest.Tag(approval.TagImageBuilderARN, imageARN),
		}}},
	})
	if err != nil {
		return "", fmt.Errorf("CreateImage in %s: %w", region, err)
	}
	// Image Builder terminates its build instance.
	if _, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}}); err != nil {
		return "", fmt.Errorf("TerminateInstances in %s: %w", region, err)
	}
	return aws.ToString(img.ImageId), nil
}

// LaunchPermissions lists who may launch an AMI, as EC2 reports it, sorted:
// account IDs, organization and OU ARNs. It stops the test on failure.
func LaunchPermissions(tb testing.TB, c *ec2.Client, amiID string) []string {
	tb.Helper()
	return must(tb, func() ([]string, error) { return ReadLaunchPermissions(context.Background(), c, amiID) })
}

// ReadLaunchPermissions is LaunchPermissions returning its error (make
// local).
func ReadLaunchPermissions(ctx context.Context, c *ec2.Client, amiID string) ([]string, error) {
	out, err := c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: aws.String(amiID), Attribute: types.ImageAttributeNameLaunchPermission,
	})
	if err != nil {
		return nil, fmt.Errorf("DescribeImageAttribute %s: %w", amiID, err)
	}
	var who []string
	for _, p := range out.LaunchPermissions {
		who = append(who, aws.ToString(p.UserId)+aws.ToString(p.OrganizationArn)+aws.ToString(p.OrganizationalUnitArn)+string(p.Group))
	}
	slices.Sort(who)
	return who, nil
}

// Items returns every item of the table as JSON text, to search for what
// must never be stored (a token).
func (e *Env) Items(tb testing.TB) []string {
	tb.Helper()
	out, err := e.DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.Table)})
	if err != nil {
		tb.Fatalf("Scan %s: %v", e.Table, err)
	}
	var items []string
	for _, item := range out.Items {
		items = append(items, itemText(item))
	}
	return items
}

// RawItems returns every item of the table as DynamoDB holds it.
func (e *Env) RawItems(tb testing.TB) []map[string]dbtypes.AttributeValue {
	tb.Helper()
	out, err := e.DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(e.Table)})
	if err != nil {
		tb.Fatalf("Scan %s: %v", e.Table, err)
	}
	return out.Items
}

func itemText(item map[string]dbtypes.AttributeValue) string {
	var b strings.Builder
	var walk func(v dbtypes.AttributeValue)
	walk = func(v dbtypes.AttributeValue) {
		switch v := v.(type) {
		case *dbtypes.AttributeValueMemberS:
			b.WriteString(v.Value + " ")
		case *dbtypes.AttributeValueMemberN:
			b.WriteString(v.Value + " ")
		case *dbtypes.AttributeValueMemberL:
			for _, x := range v.Value {
				walk(x)
			}
		case *dbtypes.AttributeValueMemberM:
			for k, x := range v.Value {
				b.WriteString(k + "=")
				walk(x)
			}
		}
	}
	keys := make([]string, 0, len(item))
	for k := range item {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(k + "=")
		walk(item[k])
	}
	return b.String()
}

// AMIs lists the IDs of the AMIs a sample SNS event's message names in the
// build's account, in the message's order.
func AMIs(tb testing.TB, ev events.SNSEvent) []string {
	tb.Helper()
	im, err := approval.ParseImage([]byte(ev.Records[0].SNS.Message))
	if err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for _, a := range im.AMIs {
		ids = append(ids, a.ID)
	}
	return ids
}

// SampleImage parses a sample SNS event of ami-approval-request (its first
// record) into the build its message names.
func SampleImage(event []byte) (approval.Image, error) {
	var ev events.SNSEvent
	if err := json.Unmarshal(event, &ev); err != nil || len(ev.Records) == 0 {
		return approval.Image{}, fmt.Errorf("sample event: %v", err)
	}
	return approval.ParseImage([]byte(ev.Records[0].SNS.Message))
}

// Failed registers a build in the fake Image Builder as Image Builder
// reports one that failed: status FAILED with reason, no AMIs.
func (e *Env) Failed(imageARN, reason string) { Fail(e.IB, imageARN, reason) }

// Fail is Failed for any fake Image Builder, for callers without an Env.
func Fail(ib *fakeimagebuilder.Server, imageARN, reason string) {
	ib.PutImage(image(imageARN, "FAILED", reason))
}
