package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// subject is one function set up for measuring: its configuration, and
// its sample events made true for the sample account.
type subject struct {
	env []string
	// events are every file of events/<name>/, in the order they run for
	// the calls table; payload is called once per invocation.
	events []event
	// cold is the event each cold-start run invokes twice: one that can
	// be repeated, so every run takes the same path.
	cold string
}

type event struct {
	file    string
	payload func() ([]byte, error)
}

func (s subject) event(file string) (event, bool) {
	for _, e := range s.events {
		if e.file == file {
			return e, true
		}
	}
	return event{}, false
}

// setups prepares each function; a function without one is measured with
// its sample events as they are and no configuration.
var setups = map[string]func(context.Context, *bench) (subject, error){
	"snapshot-on-volume-create": setupSnapshot,
	"replace-root-volume":       setupReplace,
	"root-volume-cleanup":       setupCleanup,
	"pipeline-health-gate":      setupGate,
	"pipeline-stage-retry":      setupRetry,
	"ami-approval-request":      setupApprovalRequest,
	"ami-approval-link":         setupApprovalLink,
	"ami-approval-sweeper":      setupApprovalSweeper,
	"ebs-alarms":                setupAlarms,
}

// optIn is the tag by which an instance opts in to root-volume replacement
// (REPLACE_OPT_IN_TAG's default).
var optIn = awstest.Tag(rootvolume.DefaultOptInTag.Key, rootvolume.DefaultOptInTag.Value)

// The sample events' placeholders.
const (
	sampleInstance = "i-0123456789abcdef0"
	sampleAMIEast  = "ami-0123456789abcdef0"
	sampleAMIWest  = "ami-0fedcba9876543210"
	zone           = "us-east-1a"
	// replacementsTable is the root-volume functions' REPLACEMENTS_TABLE.
	replacementsTable = "lambda-suite-replacements"
)

// sampleEvents reads events/<name>/*.json, each with replace applied.
func (b *bench) sampleEvents(name string, replace func([]byte) ([]byte, error)) ([]event, error) {
	files, err := filepath.Glob(filepath.Join(b.root, "events", name, "*.json"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no sample events in events/%s", name)
	}
	var out []event
	for _, f := range files {
		raw, err := os.ReadFile(f) // #nosec G304 -- the repository's own sample events
		if err != nil {
			return nil, err
		}
		out = append(out, event{file: filepath.Base(f), payload: func() ([]byte, error) {
			if replace == nil {
				return raw, nil
			}
			return replace(raw)
		}})
	}
	return out, nil
}

func replacer(pairs ...string) func([]byte) ([]byte, error) {
	r := strings.NewReplacer(pairs...)
	return func(b []byte) ([]byte, error) { return []byte(r.Replace(string(b))), nil }
}

func setupSnapshot(ctx context.Context, b *bench) (subject, error) {
	inst, err := b.launch(ctx, "bench-snapshot", optIn)
	if err != nil {
		return subject{}, err
	}
	arn := fmt.Sprintf("arn:aws:ec2:%s:%s:volume/%s", awstest.Region, awstest.DefaultAccount, inst.rootVolume)
	swap := replacer(sampleInstance, inst.id)
	evs, err := b.sampleEvents("snapshot-on-volume-create", func(raw []byte) ([]byte, error) {
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		if res, ok := ev["resources"].([]any); ok && len(res) > 0 && strings.Contains(fmt.Sprint(res[0]), ":volume/") {
			ev["resources"] = []string{arn}
		}
		out, err := json.Marshal(ev)
		if err != nil {
			return nil, err
		}
		return swap(out)
	})
	if err != nil {
		return subject{}, err
	}
	env, err := b.rootVolumeEnv(ctx, "ATTACH_WAIT=2s")
	return subject{env: env, events: evs, cold: "create-volume-available.json"}, err
}

// rootVolumeEnv returns the root-volume functions' configuration: the
// replacements table and the record key, made as the stack makes them the
// first time, and env.
func (b *bench) rootVolumeEnv(ctx context.Context, env ...string) ([]string, error) {
	if !b.replacements {
		if err := awstest.MakeTable(ctx, dynamodb.NewFromConfig(b.cfg), replacementsTable, "expiresAt"); err != nil {
			return nil, err
		}
		b.replacements = true
	}
	if b.recordKey == "" {
		key, err := awstest.MakeHMACKey(ctx, kms.NewFromConfig(b.cfg))
		if err != nil {
			return nil, err
		}
		b.recordKey = key
	}
	return append([]string{"REPLACEMENTS_TABLE=" + replacementsTable, "PROOF_KEY_ARN=" + b.recordKey}, env...), nil
}

func setupReplace(ctx context.Context, b *bench) (subject, error) {
	// EC2 keeps a task pending a minute or more, past the invocation that
	// started it, and runs one task an instance at a time: so the stand-in
	// keeps its tasks pending here, and each event has an instance of its
	// own with a snapshot of its root volume (the latest-snapshot cases
	// need one). A repeated event then takes the idempotent path.
	b.standIn.Tasks.Pending = time.Hour
	evs, err := b.sampleEvents("replace-root-volume", nil)
	if err != nil {
		return subject{}, err
	}
	for i, e := range evs {
		inst, err := b.launch(ctx, "bench-replace "+e.file, optIn)
		if err != nil {
			return subject{}, err
		}
		if _, err := b.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
			VolumeId: aws.String(inst.rootVolume), TagSpecifications: tagSpec(types.ResourceTypeSnapshot, "replace-snapshot", "true"),
		}); err != nil {
			return subject{}, err
		}
		swap := replacer(sampleInstance, inst.id)
		evs[i].payload = func() ([]byte, error) {
			raw, err := e.payload()
			if err != nil {
				return nil, err
			}
			return swap(raw)
		}
	}
	// moto has no CreateReplaceRootVolumeTask: EC2 calls go through the
	// stand-in, which answers it and passes the rest to moto.
	env, err := b.rootVolumeEnv(ctx, "AWS_ENDPOINT_URL="+b.standInProxy.URL, "AWS_MAX_ATTEMPTS=1")
	return subject{env: env, events: evs, cold: "launch-state.json"}, err
}

func setupCleanup(ctx context.Context, b *bench) (subject, error) {
	if _, err := b.ec2.CreateVolume(ctx, &ec2.CreateVolumeInput{
		AvailabilityZone: aws.String(zone), Size: aws.Int32(8),
		TagSpecifications: tagSpec(types.ResourceTypeVolume, "delete-volume", "true"),
	}); err != nil {
		return subject{}, err
	}
	gone, err := b.ec2.CreateVolume(ctx, &ec2.CreateVolumeInput{AvailabilityZone: aws.String(zone), Size: aws.Int32(8)})
	if err != nil {
		return subject{}, err
	}
	if _, err := b.ec2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{
		VolumeId: gone.VolumeId, TagSpecifications: tagSpec(types.ResourceTypeSnapshot, "replace-snapshot", "true"),
	}); err != nil {
		return subject{}, err
	}
	if _, err := b.ec2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: gone.VolumeId}); err != nil {
		return subject{}, err
	}
	evs, err := b.sampleEvents("root-volume-cleanup", nil)
	if err != nil {
		return subject{}, err
	}
	// moto has no DescribeReplaceRootVolumeTasks nor ListImagesInRecycleBin:
	// the stand-in answers them.
	env, err := b.rootVolumeEnv(ctx, "MIN_AGE=0s", "AWS_ENDPOINT_URL="+b.standInProxy.URL)
	return subject{env: env, events: evs, cold: "scheduled.json"}, err
}

// newJobID returns a CodePipeline job ID: each invocation of the gate is a
// new job, as CodePipeline accepts one answer a job.
func newJobID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	h := fmt.Sprintf("%x", u)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
}

func setupGate(_ context.Context, b *bench) (subject, error) {
	evs, err := b.sampleEvents("pipeline-health-gate", func(raw []byte) ([]byte, error) {
		var ev map[string]any
		if err := json.Unmarshal(raw, &ev); err != nil {
			return nil, err
		}
		if job, ok := ev["CodePipeline.job"].(map[string]any); ok {
			job["id"] = newJobID()
		}
		return json.Marshal(ev)
	})
	env := []string{"AWS_ENDPOINT_URL_HEALTH=" + b.fakeProxy.URL, "AWS_ENDPOINT_URL_CODEPIPELINE=" + b.fakeProxy.URL}
	return subject{env: env, events: evs, cold: "job-json-params.json"}, err
}

func setupRetry(_ context.Context, b *bench) (subject, error) {
	const params = `{"regions":["us-east-1"],"services":["EC2","RDS"],"eventTypeCategories":["issue"],"mode":"fail","onHealthError":"fail"}`
	const execution = "0b5c9e2a-7f3d-4e1b-9c8a-6d2e1f0a9b8c" // the sample events'
	b.fake.PutPipeline(fakehealthgate.Pipeline{Name: "web-app", Stages: []fakehealthgate.Stage{
		{Name: "Source", ExecutionID: execution, Status: "Succeeded", Actions: []fakehealthgate.Action{{Name: "Source", Category: "Source", Provider: "S3", Status: "Succeeded"}}},
		{Name: "HealthGate", ExecutionID: execution, Status: "Failed", Actions: []fakehealthgate.Action{{
			Name: "CheckAWSHealth", Category: "Invoke", Provider: "Lambda",
			Configuration: map[string]string{"FunctionName": "pipeline-health-gate", "UserParameters": params},
			Status:        "Failed", ErrorCode: "JobFailed", ErrorMessage: "blocked by AWS Health: 1 open issue event",
		}}},
	}})
	evs, err := b.sampleEvents("pipeline-stage-retry", nil)
	env := []string{
		"AWS_ENDPOINT_URL_HEALTH=" + b.fakeProxy.URL, "AWS_ENDPOINT_URL_CODEPIPELINE=" + b.fakeProxy.URL,
		"PIPELINES=web-app", "SCHEDULE_GROUP=default",
		"SCHEDULER_ROLE_ARN=arn:aws:iam::" + awstest.DefaultAccount + ":role/pipeline-stage-retry-scheduler",
	}
	return subject{env: env, events: evs, cold: "stage-failed.json"}, err
}

// approvalSetup is the approval functions' shared account: the decisions
// table, the two topics, an inbox on the approvers' topic, and the two
// AMIs an Image Builder build left.
type approvalSetup struct {
	env   []string
	amis  []string // east, west
	inbox string   // SQS queue URL
}

func (b *bench) approvalAccount(ctx context.Context) (*approvalSetup, error) {
	if b.approval != nil {
		return b.approval, nil
	}
	snsc, sqsc := sns.NewFromConfig(b.cfg), sqs.NewFromConfig(b.cfg)
	topics := map[string]string{}
	for _, name := range []string{"ami-approvers", "ami-shared", "lambda-suite-ops"} {
		t, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("create topic: %w", err)
		}
		topics[name] = aws.ToString(t.TopicArn)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("ami-approvers-inbox")})
	if err != nil {
		return nil, fmt.Errorf("create queue: %w", err)
	}
	attrs, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		return nil, err
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(topics["ami-approvers"]), Protocol: aws.String("sqs"),
		Endpoint: aws.String(attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)])}); err != nil {
		return nil, err
	}

	proofKey, err := awstest.MakeHMACKey(ctx, kms.NewFromConfig(b.cfg))
	if err != nil {
		return nil, fmt.Errorf("make the proof key: %w", err)
	}
	a := &approvalSetup{inbox: aws.ToString(q.QueueUrl), env: []string{
		"APPROVER_TOPIC_ARN=" + topics["ami-approvers"], "TARGET_TOPIC_ARN=" + topics["ami-shared"],
		"PROOF_KEY_ARN=" + proofKey, "OPS_TOPIC_ARN=" + topics["lambda-suite-ops"],
		"TARGET_ACCOUNT_IDS=111111111111,222222222222", "APPROVAL_URL=https://approve.example.com/",
		"AWS_ENDPOINT_URL_IMAGEBUILDER=" + b.ibProxy.URL,
	}}
	multi, err := b.sampleImage("available-multi-region.json")
	if err != nil {
		return nil, err
	}
	for _, region := range []string{"us-east-1", "eu-west-1"} {
		c := ec2.NewFromConfig(b.cfg, func(o *ec2.Options) { o.Region = region })
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(awstest.AMI), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT3Micro})
		if err != nil {
			return nil, fmt.Errorf("build instance in %s: %w", region, err)
		}
		img, err := c.CreateImage(ctx, &ec2.CreateImageInput{
			InstanceId: run.Instances[0].InstanceId, Name: aws.String("golden " + region),
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{
				{Key: aws.String(approval.TagCreatedBy), Value: aws.String(approval.CreatedByImageBuilder)},
				{Key: aws.String(approval.TagImageBuilderARN), Value: aws.String(multi.ARN)},
			}}},
		})
		if err != nil {
			return nil, fmt.Errorf("create AMI in %s: %w", region, err)
		}
		a.amis = append(a.amis, aws.ToString(img.ImageId))
	}
	if err := b.registerBuilds(a.amis[0], a.amis[1]); err != nil {
		return nil, err
	}
	b.approval = a
	return a, nil
}

// registerBuilds tells the fake Image Builder what the sample events' builds
// made, as Image Builder would answer for them: the multi-Region build made
// east and west, the single-Region one east (the failed one made nothing),
// and the workflow build waits at its WaitForAction step, which times out
// in 6 hours (within the sweeper's reminder lead).
func (b *bench) registerBuilds(east, west string) error {
	multi, err := b.sampleImage("available-multi-region.json")
	if err != nil {
		return err
	}
	single, err := b.sampleImage("available-single-region.json")
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(b.root, "events", "ami-approval-request", "workflow-step-waiting.json"))
	if err != nil {
		return err
	}
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("workflow-step-waiting.json: %w", err)
	}
	step, err := approval.ParseStepWaiting(ev)
	if err != nil {
		return err
	}
	eastAMI, westAMI := approval.AMI{Region: "us-east-1", ID: east}, approval.AMI{Region: "eu-west-1", ID: west}
	approvaltest.Build(b.ib, multi.ARN, eastAMI, westAMI)
	approvaltest.Build(b.ib, single.ARN, eastAMI)
	started := time.Now().UTC().Add(-(fakeimagebuilder.DefaultStepTimeout - 6*time.Hour))
	approvaltest.Pause(b.ib, step, started, 0, eastAMI, westAMI)
	return nil
}

// sampleImage reads the build a sample event of ami-approval-request names.
func (b *bench) sampleImage(file string) (approval.Image, error) {
	raw, err := os.ReadFile(filepath.Join(b.root, "events", "ami-approval-request", file)) // #nosec G304 -- the repository's own sample events
	if err != nil {
		return approval.Image{}, err
	}
	return approvaltest.SampleImage(raw)
}

// withTable returns the approval functions' configuration with a decisions
// table of their own, created empty: so each function's first event is a
// first, whichever ran before.
func (b *bench) withTable(ctx context.Context, a *approvalSetup, table string) ([]string, error) {
	if err := awstest.MakeTable(ctx, dynamodb.NewFromConfig(b.cfg), table, "expiresAt"); err != nil {
		return nil, err
	}
	return append(slices.Clone(a.env), "DECISIONS_TABLE="+table), nil
}

func setupApprovalRequest(ctx context.Context, b *bench) (subject, error) {
	return b.approvalRequest(ctx, "ami-approval-decisions")
}

func (b *bench) approvalRequest(ctx context.Context, table string) (subject, error) {
	a, err := b.approvalAccount(ctx)
	if err != nil {
		return subject{}, err
	}
	env, err := b.withTable(ctx, a, table)
	if err != nil {
		return subject{}, err
	}
	evs, err := b.sampleEvents("ami-approval-request", replacer(sampleAMIEast, a.amis[0], sampleAMIWest, a.amis[1]))
	return subject{env: env, events: evs, cold: "available-multi-region.json"}, err
}

var approvalToken = regexp.MustCompile(`\?token=([A-Za-z0-9_-]{43})`)

// setupApprovalLink has the built ami-approval-request ask for approval of
// the sample build, and reads the link's token from the approvers' email,
// so the link's sample events carry a token the table knows.
func setupApprovalLink(ctx context.Context, b *bench) (subject, error) {
	req, err := b.requested(ctx, "ami-approval-link-decisions", "available-multi-region.json")
	if err != nil {
		return subject{}, err
	}
	token, err := b.readToken(ctx, b.approval.inbox)
	if err != nil {
		return subject{}, err
	}
	evs, err := b.sampleEvents("ami-approval-link", func(raw []byte) ([]byte, error) {
		var req events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, err
		}
		if strings.HasPrefix(req.RawQueryString, "token=") {
			req.RawQueryString = "token=" + token
			req.QueryStringParameters = map[string]string{"token": token}
		}
		if req.Body != "" {
			body := req.Body
			if req.IsBase64Encoded {
				d, err := base64.StdEncoding.DecodeString(body)
				if err != nil {
					return nil, err
				}
				body = string(d)
			}
			body = regexp.MustCompile(`token=[^&]*`).ReplaceAllString(body, "token="+token)
			if req.IsBase64Encoded {
				body = base64.StdEncoding.EncodeToString([]byte(body))
			}
			req.Body = body
		}
		return json.Marshal(req)
	})
	return subject{env: req.env, events: evs, cold: "get.json"}, err
}

// setupApprovalSweeper has the built ami-approval-request email the
// approvers about the sample workflow build, paused at its step, so that
// the sweeper's first run finds the step close to its time-out and sends
// the one reminder.
func setupApprovalSweeper(ctx context.Context, b *bench) (subject, error) {
	req, err := b.requested(ctx, "ami-approval-sweeper-decisions", "workflow-step-waiting.json")
	if err != nil {
		return subject{}, err
	}
	evs, err := b.sampleEvents("ami-approval-sweeper", nil)
	return subject{env: req.env, events: evs, cold: "scheduled.json"}, err
}

// requested sets ami-approval-request up with a decisions table of its
// own and has the built function handle one of its sample events, as
// setup: its calls are not counted. It returns the request's subject,
// whose configuration the other approval functions share.
func (b *bench) requested(ctx context.Context, table, file string) (subject, error) {
	req, err := b.approvalRequest(ctx, table)
	if err != nil {
		return subject{}, err
	}
	ev, ok := req.event(file)
	if !ok {
		return subject{}, fmt.Errorf("no sample event %s", file)
	}
	payload, err := ev.payload()
	if err != nil {
		return subject{}, err
	}
	f, err := b.start("ami-approval-request", req.env)
	if err != nil {
		return subject{}, err
	}
	defer f.Close()
	out, err := invoke(ctx, f, payload)
	if err != nil {
		return subject{}, err
	}
	if out.FunctionError != nil {
		return subject{}, fmt.Errorf("ami-approval-request %s: %s", file, out.FunctionError.Error())
	}
	return req, nil
}

func (b *bench) readToken(ctx context.Context, queue string) (string, error) {
	c := sqs.NewFromConfig(b.cfg)
	for range 5 {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			return "", err
		}
		for _, m := range out.Messages {
			if t := approvalToken.FindStringSubmatch(aws.ToString(m.Body)); t != nil {
				return t[1], nil
			}
		}
	}
	return "", fmt.Errorf("no approval link in the approvers' inbox")
}

func setupAlarms(ctx context.Context, b *bench) (subject, error) {
	if _, err := sns.NewFromConfig(b.cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("disk-space-alerts")}); err != nil {
		return subject{}, err
	}
	var data []cwtypes.MetricDatum
	var first string
	ts := aws.Time(time.Now().Add(-5 * time.Minute))
	for i := range 2 {
		inst, err := b.launch(ctx, fmt.Sprintf("Windows-bench-%d", i+1))
		if err != nil {
			return subject{}, err
		}
		if first == "" {
			first = inst.id
		}
		for _, drive := range []string{"C:", "D:"} {
			dims := []cwtypes.Dimension{dim("instance", drive), dim("objectname", "LogicalDisk"), dim("InstanceId", inst.id), dim("ImageId", inst.image), dim("InstanceType", "t3.micro")}
			data = append(data,
				cwtypes.MetricDatum{MetricName: aws.String(diskalarm.MetricFreePercent), Dimensions: dims, Value: aws.Float64(40), Timestamp: ts},
				cwtypes.MetricDatum{MetricName: aws.String(diskalarm.MetricFreeMegabytes), Dimensions: dims, Value: aws.Float64(40 * 1024), Timestamp: ts})
		}
	}
	if _, err := cloudwatch.NewFromConfig(b.cfg).PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("CWAgent"), MetricData: data}); err != nil {
		return subject{}, fmt.Errorf("put the agent's metrics: %w", err)
	}
	evs, err := b.sampleEvents("ebs-alarms", replacer(sampleInstance, first))
	env := []string{"SNS_TOPIC_ARN=arn:aws:sns:us-east-1:" + awstest.DefaultAccount + ":disk-space-alerts", "INSTANCE_NAME_PATTERN=Windows*", "WRITE_RATE=20"}
	return subject{env: env, events: evs, cold: "direct-invocation.json"}, err
}

func dim(name, value string) cwtypes.Dimension {
	return cwtypes.Dimension{Name: aws.String(name), Value: aws.String(value)}
}

func tagSpec(rt types.ResourceType, key, value string) []types.TagSpecification {
	return []types.TagSpecification{{ResourceType: rt, Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(value)}}}}
}

type launched struct{ id, image, rootVolume string }

// launch starts an instance named name, with more tags, from one of moto's
// images whose root device is /dev/sda1, where moto attaches every root
// volume, so the instance has a true root volume.
func (b *bench) launch(ctx context.Context, name string, tags ...types.Tag) (launched, error) {
	if b.image == "" {
		out, err := b.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("name"), Values: []string{"ubuntu/images/*"}}}})
		if err != nil {
			return launched{}, err
		}
		for _, im := range out.Images {
			if aws.ToString(im.RootDeviceName) == "/dev/sda1" && (b.image == "" || aws.ToString(im.ImageId) < b.image) {
				b.image = aws.ToString(im.ImageId)
			}
		}
		if b.image == "" {
			return launched{}, fmt.Errorf("moto offers no ubuntu image with root device /dev/sda1")
		}
	}
	out, err := b.ec2.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(b.image), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		Placement:         &types.Placement{AvailabilityZone: aws.String(zone)},
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeInstance, Tags: append([]types.Tag{awstest.Tag("Name", name)}, tags...)}},
	})
	if err != nil {
		return launched{}, fmt.Errorf("RunInstances %s: %w", name, err)
	}
	i := out.Instances[0]
	l := launched{id: aws.ToString(i.InstanceId), image: b.image}
	for _, m := range i.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToString(m.DeviceName) == aws.ToString(i.RootDeviceName) {
			l.rootVolume = aws.ToString(m.Ebs.VolumeId)
		}
	}
	if l.rootVolume == "" {
		return launched{}, fmt.Errorf("instance %s has no root volume", l.id)
	}
	return l, nil
}

// invoke runs one invocation; a function error is an outcome, not an error.
func invoke(ctx context.Context, f *runtimeapi.Function, payload []byte) (runtimeapi.Result, error) {
	return f.Invoke(ctx, payload, invokeTimeout)
}
