package diskalarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

const testTopic = "arn:aws:sns:us-east-1:123456789012:disk-alerts"

// account is a moto account with clients for seeding and checking, and a
// Reconciler whose calls are counted.
type account struct {
	cfg   aws.Config
	ec2   *ec2.Client
	cw    *cloudwatch.Client
	calls *awstest.Calls
	rec   *Reconciler
}

func newAccount(tb testing.TB) *account {
	tb.Helper()
	cfg, _ := awstest.Moto(tb).Config(tb)
	calls := awstest.NewCalls()
	counted := cfg.Copy()
	counted.APIOptions = append(counted.APIOptions, calls.Middleware)
	return &account{
		cfg: cfg, ec2: ec2.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg), calls: calls,
		rec: &Reconciler{
			EC2: ec2.NewFromConfig(counted), CloudWatch: cloudwatch.NewFromConfig(counted),
			Namespace: diskalarmtest.Namespace,
			Alarms:    AlarmSettings{Prefix: DefaultPrefix, TreatMissingData: DefaultTreatMissingData, Thresholds: DefaultThresholds()},
			Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
	}
}

// launch starts n instances named name in one call and returns their IDs.
func (a *account) launch(tb testing.TB, name string, n int) []string {
	tb.Helper()
	out, err := a.ec2.RunInstances(context.Background(), &ec2.RunInstancesInput{
		ImageId: aws.String(awstest.AMI), MinCount: aws.Int32(int32(n)), MaxCount: aws.Int32(int32(n)), // #nosec G115 -- n is a benchmark size, at most thousands
		InstanceType: ec2types.InstanceTypeT3Micro,
		TagSpecifications: []ec2types.TagSpecification{{
			ResourceType: ec2types.ResourceTypeInstance,
			Tags:         []ec2types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
		}},
	})
	if err != nil {
		tb.Fatalf("RunInstances(%d × %s): %v", n, name, err)
	}
	ids := make([]string, len(out.Instances))
	for i, inst := range out.Instances {
		ids[i] = aws.ToString(inst.InstanceId)
	}
	return ids
}

func (a *account) terminate(tb testing.TB, ids ...string) {
	tb.Helper()
	for batch := range slices.Chunk(ids, 500) {
		if _, err := a.ec2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: batch}); err != nil {
			tb.Fatalf("TerminateInstances: %v", err)
		}
	}
}

var windowsFleet = Request{Trigger: TriggerSchedule, Selector: Selector{NamePattern: "win-*"}, TopicARN: testTopic}

// The number of calls follows pages and batches, not disks: 10 Windows
// instances with 26 drives each are 520 series, two GetMetricData calls;
// terminating 5 of them deletes 260 alarms in three DeleteAlarms calls.
func TestReadsAndDeletesGoInBatches(t *testing.T) {
	a := newAccount(t)
	ids := a.launch(t, "win-fleet", 10)
	var disks []diskalarmtest.WindowsDisk
	for _, id := range ids {
		for drive := 'A'; drive <= 'Z'; drive++ {
			disks = append(disks, diskalarmtest.WindowsDisk{InstanceID: id, Drive: string(drive) + ":", SizeGiB: 100, FreePercent: 50})
		}
	}
	diskalarmtest.PutWindows(t, a.cw, disks...)

	res, err := a.rec.Reconcile(context.Background(), windowsFleet)
	if err != nil {
		t.Fatal(err)
	}
	if res.Instances != 10 || res.Disks != 260 || res.Created != 520 {
		t.Fatalf("first run = %+v, want 10 instances, 260 disks, 520 created", res)
	}
	if got := a.calls.Count("CloudWatch.GetMetricData"); got != 2 {
		t.Errorf("GetMetricData calls = %d, want 2 for 520 series (%s)", got, a.calls)
	}
	// One ListMetrics query per metric name, each one page.
	if got := a.calls.Count("CloudWatch.ListMetrics"); got != len(metricNames) {
		t.Errorf("ListMetrics calls = %d, want %d (%s)", got, len(metricNames), a.calls)
	}
	if got := a.calls.Count("EC2.DescribeInstances"); got != 1 {
		t.Errorf("DescribeInstances calls = %d, want 1 page (%s)", got, a.calls)
	}

	a.terminate(t, ids[:5]...)
	a.calls.Reset()
	res, err = a.rec.Reconcile(context.Background(), windowsFleet)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted != 260 || res.Unchanged != 260 || res.Created+res.Updated != 0 {
		t.Errorf("after terminating 5: %+v, want 260 deleted, 260 unchanged, nothing else", res)
	}
	if got := a.calls.Count("CloudWatch.DeleteAlarms"); got != 3 {
		t.Errorf("DeleteAlarms calls = %d, want 3 (100 names a call)", got)
	}
	if n := len(diskalarmtest.Alarms(t, a.cw, DefaultPrefix)); n != 260 {
		t.Errorf("alarms left = %d, want 260", n)
	}
}

// A run that stops before its deadline queues a continuation; following
// the chain through SQS writes every alarm exactly once, then stops.
func TestStoppedRunContinuesThroughTheQueue(t *testing.T) {
	a := newAccount(t)
	ids := a.launch(t, "win-fleet", 3)
	for _, id := range ids {
		diskalarmtest.PutWindows(t, a.cw,
			diskalarmtest.WindowsDisk{InstanceID: id, Drive: "C:", SizeGiB: 100, FreePercent: 50},
			diskalarmtest.WindowsDisk{InstanceID: id, Drive: "D:", SizeGiB: 100, FreePercent: 50})
	}
	sqsClient := sqs.NewFromConfig(a.cfg)
	q, err := sqsClient.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("resume")})
	if err != nil {
		t.Fatal(err)
	}
	kmsClient := kms.NewFromConfig(a.cfg)
	queue := &Queue{SQS: sqsClient, URL: aws.ToString(q.QueueUrl), Proof: &proof.Sealer{KMS: kmsClient, KeyID: awstest.HMACKey(t, kmsClient)}}

	// 12 alarms, 5 writes a pass: 3 passes.
	req, pass := windowsFleet, 1
	var passes []Result
	for len(passes) < 10 {
		a.rec.Limiter = &diskalarmtest.StopAfter{N: 5}
		res, err := a.rec.Reconcile(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		passes = append(passes, res)
		if !res.Incomplete {
			break
		}
		if st, err := queue.Busy(context.Background()); err != nil || st.Aside {
			t.Fatalf("Busy before queueing = %+v, %v, want not aside", st, err)
		}
		if err := queue.Continue(context.Background(), NextResume(req, res)); err != nil {
			t.Fatal(err)
		}
		if st, err := queue.Busy(context.Background()); err != nil || !st.Aside {
			t.Errorf("Busy with a continuation queued = %+v, %v, want aside", st, err)
		}
		msg, err := sqsClient.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl})
		if err != nil || len(msg.Messages) != 1 {
			t.Fatalf("ReceiveMessage = %v, %v, want the continuation", msg, err)
		}
		var m Resume
		if m, req, err = queue.Open(context.Background(), aws.ToString(msg.Messages[0].Body)); err != nil {
			t.Fatalf("Open: %v", err)
		}
		if m.Cursor != res.Cursor || m.Pass != pass+1 || req.Selector != windowsFleet.Selector || req.TopicARN != testTopic ||
			req.Origin != TriggerSchedule || req.Pass != pass+1 {
			t.Errorf("continuation = %+v (request %+v), want cursor %q, pass %d and the first run's origin, selection and topic", m, req, res.Cursor, pass+1)
		}
		pass = m.Pass
		if _, err := sqsClient.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: msg.Messages[0].ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	var created []int
	for _, p := range passes {
		created = append(created, p.Created)
	}
	if !slices.Equal(created, []int{5, 5, 2}) {
		t.Errorf("created per pass = %v, want [5 5 2]", created)
	}
	if got := a.calls.Count("CloudWatch.PutMetricAlarm"); got != 12 {
		t.Errorf("PutMetricAlarm calls over the chain = %d, want 12 (each alarm once)", got)
	}
	if n := len(diskalarmtest.Alarms(t, a.cw, DefaultPrefix)); n != 12 {
		t.Errorf("alarms = %d, want 12", n)
	}
}

// With less time left than an explicit margin, a run writes nothing and
// says so; it made no progress, so no continuation would be queued.
func TestNoWritesInsideTheDeadlineMargin(t *testing.T) {
	a := newAccount(t)
	ids := a.launch(t, "win-fleet", 1)
	diskalarmtest.PutWindows(t, a.cw, diskalarmtest.WindowsDisk{InstanceID: ids[0], Drive: "C:", SizeGiB: 100, FreePercent: 50})
	a.rec.DeadlineMargin = 30 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	res, err := a.rec.Reconcile(ctx, windowsFleet)
	if !errors.Is(err, ErrOutOfTime) {
		// The reads ran on an already spent budget.
		t.Fatalf("Reconcile inside the margin = %+v, %v, want an out-of-time error", res, err)
	}
	if w := a.calls.Writes(); len(w) != 0 {
		t.Errorf("writes = %v, want none", w)
	}
}

// deadlines records the deadline of each context the writes are paced on.
type deadlines struct{ seen []time.Time }

func (d *deadlines) Wait(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	d.seen = append(d.seen, dl)
	return ctx.Err()
}

// The writes stop a margin before the deadline that scales with the time
// given (deadline.Margin), unless DeadlineMargin sets one.
func TestWritesStopAMarginThatScalesWithTheDeadline(t *testing.T) {
	a := newAccount(t)
	ids := a.launch(t, "win-fleet", 1)
	diskalarmtest.PutWindows(t, a.cw, diskalarmtest.WindowsDisk{InstanceID: ids[0], Drive: "C:", SizeGiB: 100, FreePercent: 50})
	for _, tt := range []struct {
		timeout, explicit, margin time.Duration
	}{
		{10 * time.Second, 0, 2 * time.Second},
		{30 * time.Second, 0, 6 * time.Second},
		{900 * time.Second, 0, 30 * time.Second},
		{30 * time.Second, 3 * time.Second, 3 * time.Second},
	} {
		t.Run(fmt.Sprintf("%s margin %s", tt.timeout, tt.explicit), func(t *testing.T) {
			a.rec.DeadlineMargin = tt.explicit
			pacer := &deadlines{}
			a.rec.Limiter = pacer
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			dl, _ := ctx.Deadline()
			// Delete the alarms first, so that every pass writes.
			for name := range diskalarmtest.Alarms(t, a.cw, DefaultPrefix) {
				if _, err := a.cw.DeleteAlarms(context.Background(), &cloudwatch.DeleteAlarmsInput{AlarmNames: []string{name}}); err != nil {
					t.Fatal(err)
				}
			}
			res, err := a.rec.Reconcile(ctx, windowsFleet)
			if err != nil || res.Created != 2 || res.Incomplete {
				t.Fatalf("Reconcile = %+v, %v, want both alarms created", res, err)
			}
			for _, got := range pacer.seen {
				// A fifth of the time left when the run started: a little
				// under a fifth of the timeout.
				if kept := dl.Sub(got); kept > tt.margin || kept < tt.margin-100*time.Millisecond {
					t.Errorf("writes paced up to %s before the deadline, want %s", kept, tt.margin)
				}
			}
		})
	}
}

// failPuts fails PutMetricAlarm for one alarm, as a validation error would.
type failPuts struct {
	cloudWatchAPI
	name string
}

func (f failPuts) PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	if aws.ToString(in.AlarmName) == f.name {
		return nil, errors.New("ValidationError: injected")
	}
	return f.cloudWatchAPI.PutMetricAlarm(ctx, in, opts...)
}

func TestOneFailedWriteDoesNotStopTheRun(t *testing.T) {
	a := newAccount(t)
	ids := a.launch(t, "win-fleet", 1)
	diskalarmtest.PutWindows(t, a.cw, diskalarmtest.WindowsDisk{InstanceID: ids[0], Drive: "C:", SizeGiB: 100, FreePercent: 50})
	bad := AlarmName(DefaultPrefix, ids[0], "C:", Critical)
	a.rec.CloudWatch = failPuts{cloudWatchAPI: a.rec.CloudWatch, name: bad}
	res, err := a.rec.Reconcile(context.Background(), windowsFleet)
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 1 || len(res.Failed) != 1 || res.Failed[0].Alarm != bad || res.Incomplete {
		t.Errorf("Reconcile = %+v, want 1 created, %q failed, complete", res, bad)
	}
}

func TestReadFailureWritesNothing(t *testing.T) {
	a := newAccount(t)
	ids := a.launch(t, "win-fleet", 1)
	diskalarmtest.PutWindows(t, a.cw, diskalarmtest.WindowsDisk{InstanceID: ids[0], Drive: "C:", SizeGiB: 100, FreePercent: 50})
	a.rec.CloudWatch = failMetricData{a.rec.CloudWatch}
	if _, err := a.rec.Reconcile(context.Background(), windowsFleet); err == nil || !strings.Contains(err.Error(), "get metric data") {
		t.Errorf("Reconcile = %v, want the GetMetricData error", err)
	}
	if w := a.calls.Writes(); len(w) != 0 {
		t.Errorf("writes = %v, want none", w)
	}
}

type failMetricData struct{ cloudWatchAPI }

func (failMetricData) GetMetricData(context.Context, *cloudwatch.GetMetricDataInput, ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	return nil, errors.New("Throttling: injected")
}
