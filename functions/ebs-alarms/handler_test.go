package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	samples "github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// The sample events' topic and instance.
const (
	sampleTopic     = "arn:aws:sns:us-east-1:123456789012:" + sampleTopicName
	sampleTopicName = "disk-space-alerts"
	// resumeQueue is the name of the continuation queue the tests create.
	resumeQueue    = "ebs-alarms-resume"
	sampleInstance = "i-0123456789abcdef0"
	prefix         = diskalarm.DefaultPrefix
)

// sample reads a sample event from events/, with its instance ID replaced.
func sample(t *testing.T, name, instanceID string) json.RawMessage {
	t.Helper()
	return samples.Bytes(t, "ebs-alarms", name, sampleInstance, instanceID)
}

type fixture struct {
	cfg   aws.Config // the test's own (admin) configuration, for setup and checks
	role  *iam.Function
	key   string // the ARN of the stack's HMAC key (EbsAlarmsProofKey)
	ec2   *ec2.Client
	cw    *cloudwatch.Client
	calls *awstest.Calls
	logs  *bytes.Buffer
	h     *handler
}

// newFixture builds the handler as main does, over a fresh moto account,
// with its calls counted and its logs kept.
func newFixture(t *testing.T, env map[string]string) *fixture {
	t.Helper()
	cfg, acct := awstest.Moto(t).Config(t)
	key := awstest.HMACKey(t, kms.NewFromConfig(cfg))
	// The function's calls run under its role, as infra/sam writes it; the
	// tests' continuation queue, HMAC key and the sample events' topic
	// stand for the stack's.
	role := iam.As(t, cfg, acct, "disk-alarm.yaml", "EbsAlarmsFunction", iam.Options{Names: map[string]string{
		"EbsAlarmsResumeQueue": resumeQueue,
		"EbsAlarmsTopic":       sampleTopicName,
		"EbsAlarmsProofKey":    key[strings.LastIndex(key, "/")+1:],
	}})
	fnCfg, err := loadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("loadConfig: %v", err)
	}
	// The default rate of 3 writes a second would make every test wait.
	fnCfg.WriteRate = 50
	calls := awstest.NewCalls()
	counted := role.Config.Copy()
	counted.APIOptions = append(counted.APIOptions, calls.Middleware)
	logs := &bytes.Buffer{}
	return &fixture{
		cfg: cfg, role: role, key: key, ec2: ec2.NewFromConfig(cfg), cw: cloudwatch.NewFromConfig(cfg), calls: calls, logs: logs,
		h: newHandler(fnCfg, counted, slog.New(slog.NewJSONHandler(logs, nil))),
	}
}

// fleet is the sample fleet: two Windows instances and a Linux one.
type fleet struct {
	app1, app2, linux string
	disks             map[string]diskalarmtest.WindowsDisk // by alarm-name stem "<id> <drive>"
}

func seedFleet(t *testing.T, f *fixture) fleet {
	t.Helper()
	fl := fleet{
		app1:  aws.ToString(awstest.RunInstance(t, f.ec2, "Windows-app-1").InstanceId),
		app2:  aws.ToString(awstest.RunInstance(t, f.ec2, "Windows-app-2").InstanceId),
		linux: aws.ToString(awstest.RunInstance(t, f.ec2, "linux-web-1").InstanceId),
		disks: map[string]diskalarmtest.WindowsDisk{},
	}
	for _, d := range []diskalarmtest.WindowsDisk{
		{InstanceID: fl.app1, Drive: "C:", SizeGiB: 100, FreePercent: 45},
		{InstanceID: fl.app1, Drive: "D:", SizeGiB: 1024, FreePercent: 40},
		{InstanceID: fl.app1, Drive: "E:", SizeGiB: 50, FreePercent: 0}, // full: 0 MB, 0 %
		{InstanceID: fl.app2, Drive: "C:", SizeGiB: 60, FreePercent: 70, AgentNames: true},
	} {
		fl.disks[d.InstanceID+" "+d.Drive] = d
		diskalarmtest.PutWindows(t, f.cw, d)
	}
	diskalarmtest.PutLinux(t, f.cw,
		diskalarmtest.LinuxDisk{InstanceID: fl.linux, Path: "/", Device: "nvme0n1p1", FSType: "xfs", UsedPercent: 50},
		diskalarmtest.LinuxDisk{InstanceID: fl.linux, Path: "/dev/shm", Device: "tmpfs", FSType: "tmpfs", UsedPercent: 1})
	return fl
}

func (fl fleet) name(instanceID, drive, severity string) string {
	return diskalarm.AlarmName(prefix, instanceID, drive, severity)
}

func TestDirectInvocationCreatesTwoAlarmsPerWindowsDisk(t *testing.T) {
	f := newFixture(t, nil)
	fl := seedFleet(t, f)

	out, err := f.h.Handle(context.Background(), sample(t, "direct-invocation.json", ""))
	if err != nil {
		t.Fatalf("Handle(direct) = %v", err)
	}
	res := out.(diskalarm.Result)
	if res.Instances != 2 || res.Disks != 4 || res.Created != 8 || len(res.Failed) != 0 {
		t.Errorf("result = %+v, want 2 instances, 4 disks, 8 created", res)
	}

	// What the account now holds, read through the SDK.
	alarms := diskalarmtest.Alarms(t, f.cw, prefix)
	want := map[string]float64{ // alarm → threshold (% free)
		fl.name(fl.app1, "C:", "Warning"): 30, fl.name(fl.app1, "C:", "Critical"): 20, // 100 GiB
		fl.name(fl.app1, "D:", "Warning"): 15, fl.name(fl.app1, "D:", "Critical"): 10, // 1 TiB
		fl.name(fl.app1, "E:", "Warning"): 30, fl.name(fl.app1, "E:", "Critical"): 20, // full: size unknown
		fl.name(fl.app2, "C:", "Warning"): 30, fl.name(fl.app2, "C:", "Critical"): 20, // 60 GiB, agent names
	}
	if diff := cmp.Diff(slices.Sorted(maps.Keys(want)), slices.Sorted(maps.Keys(alarms))); diff != "" {
		t.Fatalf("alarms (-want +got):\n%s", diff)
	}
	for name, threshold := range want {
		a := alarms[name]
		stem := strings.TrimPrefix(name, prefix)
		stem = stem[:strings.LastIndexByte(stem, ' ')]
		percent, _ := fl.disks[stem].Series()
		if got := aws.ToFloat64(a.Threshold); got != threshold {
			t.Errorf("%s: threshold %g, want %g", name, got, threshold)
		}
		if aws.ToString(a.MetricName) != aws.ToString(percent.MetricName) || aws.ToString(a.Namespace) != "CWAgent" {
			t.Errorf("%s: metric %s/%s, want CWAgent/%s", name, aws.ToString(a.Namespace), aws.ToString(a.MetricName), aws.ToString(percent.MetricName))
		}
		if diff := cmp.Diff(diskalarmtest.Dimensions(percent.Dimensions), diskalarmtest.Dimensions(a.Dimensions)); diff != "" {
			t.Errorf("%s: dimensions differ from the metric's (-metric +alarm):\n%s", name, diff)
		}
		if !slices.Equal(a.AlarmActions, []string{sampleTopic}) || !slices.Equal(a.OKActions, []string{sampleTopic}) {
			t.Errorf("%s: actions %v / %v, want the topic", name, a.AlarmActions, a.OKActions)
		}
		if a.Statistic != cwtypes.StatisticMinimum || a.ComparisonOperator != cwtypes.ComparisonOperatorLessThanThreshold ||
			aws.ToInt32(a.Period) != 300 || aws.ToInt32(a.EvaluationPeriods) != 2 || aws.ToInt32(a.DatapointsToAlarm) != 2 ||
			aws.ToString(a.TreatMissingData) != "missing" {
			t.Errorf("%s: %s %s %ds %d of %d missing=%s, want Minimum LessThanThreshold 300s 2 of 2 missing",
				name, a.Statistic, a.ComparisonOperator, aws.ToInt32(a.Period), aws.ToInt32(a.DatapointsToAlarm), aws.ToInt32(a.EvaluationPeriods), aws.ToString(a.TreatMissingData))
		}
	}
	tags, err := f.cw.ListTagsForResource(context.Background(), &cloudwatch.ListTagsForResourceInput{ResourceARN: alarms[fl.name(fl.app1, "C:", "Warning")].AlarmArn})
	if err != nil || !slices.ContainsFunc(tags.Tags, func(t cwtypes.Tag) bool { return aws.ToString(t.Key) == "managed-by" }) {
		t.Errorf("tags = %v, %v, want the owner tags", tags, err)
	}
	// The full disk's alarms are explained in the log.
	if !strings.Contains(f.logs.String(), `"disk":"E:","reason":"the disk is full`) {
		t.Errorf("log does not say why E: has the small-disk thresholds:\n%s", f.logs)
	}

	// Running it again writes nothing.
	f.calls.Reset()
	out, err = f.h.Handle(context.Background(), sample(t, "direct-invocation.json", ""))
	if err != nil {
		t.Fatal(err)
	}
	if w := f.calls.Writes(); len(w) != 0 {
		t.Errorf("write calls on the re-run = %v, want none (all calls: %s)", w, f.calls)
	}
	if res := out.(diskalarm.Result); res.Unchanged != 8 || res.Created+res.Updated+res.Deleted != 0 {
		t.Errorf("re-run result = %+v, want 8 unchanged", res)
	}
}

func TestStateChangeEvents(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	fl := seedFleet(t, f)
	if _, err := f.h.Handle(context.Background(), sample(t, "direct-invocation.json", "")); err != nil {
		t.Fatal(err)
	}
	before := diskalarmtest.Alarms(t, f.cw, prefix)

	t.Run("terminated", func(t *testing.T) {
		if _, err := f.ec2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{fl.app2}}); err != nil {
			t.Fatal(err)
		}
		f.calls.Reset()
		if _, err := f.h.Handle(context.Background(), sample(t, "terminated.json", fl.app2)); err != nil {
			t.Fatal(err)
		}
		after := diskalarmtest.Alarms(t, f.cw, prefix)
		for name, a := range before {
			_, still := after[name]
			gone := strings.HasPrefix(name, diskalarm.InstancePrefix(prefix, fl.app2))
			if still == gone {
				t.Errorf("%s: exists %t after app-2 terminated, want %t", name, still, !gone)
			}
			if still && (!slices.Equal(diskalarmtest.Dimensions(a.Dimensions), diskalarmtest.Dimensions(after[name].Dimensions)) ||
				aws.ToFloat64(a.Threshold) != aws.ToFloat64(after[name].Threshold)) {
				t.Errorf("%s was changed", name)
			}
		}
		if n := f.calls.Count("CloudWatch.PutMetricAlarm"); n != 0 {
			t.Errorf("PutMetricAlarm calls = %d, want 0", n)
		}
	})

	t.Run("running", func(t *testing.T) {
		app3 := aws.ToString(awstest.RunInstance(t, f.ec2, "Windows-app-3").InstanceId)
		diskalarmtest.PutWindows(t, f.cw, diskalarmtest.WindowsDisk{InstanceID: app3, Drive: "C:", SizeGiB: 80, FreePercent: 50})
		f.calls.Reset()
		out, err := f.h.Handle(context.Background(), sample(t, "running.json", app3))
		if err != nil {
			t.Fatal(err)
		}
		if res := out.(diskalarm.Result); res.Instances != 1 || res.Created != 2 {
			t.Errorf("result = %+v, want 1 instance and 2 alarms created", res)
		}
		after := diskalarmtest.Alarms(t, f.cw, prefix)
		for _, sev := range []string{"Warning", "Critical"} {
			if _, ok := after[fl.name(app3, "C:", sev)]; !ok {
				t.Errorf("no %s alarm for app-3's C:", sev)
			}
		}
		// The event is about one instance: nothing else is listed or written.
		if n := f.calls.Count("CloudWatch.PutMetricAlarm"); n != 2 {
			t.Errorf("PutMetricAlarm calls = %d, want 2", n)
		}
	})

	t.Run("running, not selected", func(t *testing.T) {
		f.calls.Reset()
		out, err := f.h.Handle(context.Background(), sample(t, "running.json", fl.linux))
		if err != nil {
			t.Fatal(err)
		}
		if res := out.(diskalarm.Result); res.Instances != 0 {
			t.Errorf("result = %+v, want the Linux instance not selected", res)
		}
		if w := f.calls.Writes(); len(w) != 0 {
			t.Errorf("writes = %v, want none", w)
		}
	})
}

// hideSeries makes ListMetrics stop listing some series, as CloudWatch does
// three hours after a detached disk's last datapoint (RecentlyActive=PT3H);
// moto lists every series it ever had.
type hideSeries struct {
	*cloudwatch.Client
	hidden func(cwtypes.Metric) bool
}

func (h hideSeries) ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error) {
	out, err := h.Client.ListMetrics(ctx, in, opts...)
	if err == nil {
		out.Metrics = slices.DeleteFunc(out.Metrics, h.hidden)
	}
	return out, err
}

func TestScheduledRunFollowsDisks(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	fl := seedFleet(t, f)
	schedule := sample(t, "scheduled.json", "")
	if _, err := f.h.Handle(context.Background(), schedule); err != nil {
		t.Fatal(err)
	}

	t.Run("a new disk", func(t *testing.T) {
		diskalarmtest.PutWindows(t, f.cw, diskalarmtest.WindowsDisk{InstanceID: fl.app1, Drive: "F:", SizeGiB: 2048, FreePercent: 80})
		out, err := f.h.Handle(context.Background(), schedule)
		if err != nil {
			t.Fatal(err)
		}
		if res := out.(diskalarm.Result); res.Created != 2 || res.Updated+res.Deleted != 0 || res.Unchanged != 8 {
			t.Errorf("result = %+v, want F:'s 2 alarms created and the 8 others unchanged", res)
		}
		a := diskalarmtest.Alarms(t, f.cw, prefix)[fl.name(fl.app1, "F:", "Critical")]
		if aws.ToFloat64(a.Threshold) != 10 {
			t.Errorf("F: (2 TiB) critical threshold = %g, want 10", aws.ToFloat64(a.Threshold))
		}
	})

	t.Run("a disk gone", func(t *testing.T) {
		f.h.rec.CloudWatch = hideSeries{Client: cloudwatch.NewFromConfig(countedConfig(f)), hidden: func(m cwtypes.Metric) bool {
			return slices.ContainsFunc(m.Dimensions, func(d cwtypes.Dimension) bool { return aws.ToString(d.Value) == "D:" })
		}}
		f.calls.Reset()
		out, err := f.h.Handle(context.Background(), schedule)
		if err != nil {
			t.Fatal(err)
		}
		if res := out.(diskalarm.Result); res.Deleted != 2 || res.Created+res.Updated != 0 {
			t.Errorf("result = %+v, want D:'s 2 alarms deleted and nothing else", res)
		}
		after := diskalarmtest.Alarms(t, f.cw, prefix)
		for _, sev := range []string{"Warning", "Critical"} {
			if _, ok := after[fl.name(fl.app1, "D:", sev)]; ok {
				t.Errorf("D:'s %s alarm is still there", sev)
			}
		}
		if len(after) != 8 {
			t.Errorf("alarms left = %d, want 8", len(after))
		}
	})
}

// countedConfig is the function's configuration (its role's) with the
// fixture's call counter.
func countedConfig(f *fixture) aws.Config {
	c := f.role.Config.Copy()
	c.APIOptions = append(c.APIOptions, f.calls.Middleware)
	return c
}

func TestScheduledRunWithoutSelection(t *testing.T) {
	f := newFixture(t, nil) // neither INSTANCE_NAME_PATTERN nor ALARM_TAG
	fl := seedFleet(t, f)
	if _, err := f.h.Handle(context.Background(), sample(t, "direct-invocation.json", "")); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ec2.TerminateInstances(context.Background(), &ec2.TerminateInstancesInput{InstanceIds: []string{fl.app2}}); err != nil {
		t.Fatal(err)
	}
	out, err := f.h.Handle(context.Background(), sample(t, "scheduled.json", ""))
	if err != nil {
		t.Fatal(err)
	}
	res := out.(diskalarm.Result)
	if res.Instances != 0 || !strings.Contains(res.Note, "no instance is selected") {
		t.Errorf("result = %+v, want nothing selected and a note saying so", res)
	}
	// app-2 is gone, so its alarms go; app-1's were made by the direct
	// invocation and stay.
	if res.Deleted != 2 || res.Kept != 6 {
		t.Errorf("result = %+v, want app-2's 2 alarms deleted and 6 kept", res)
	}
}

func TestOptInTagSelectsInstances(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "ALARM_TAG": "disk-alarms=enabled"})
	db := aws.ToString(awstest.RunInstance(t, f.ec2, "db-7").InstanceId)
	if _, err := f.ec2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{db}, Tags: []ec2types.Tag{awstest.Tag("disk-alarms", "enabled")}}); err != nil {
		t.Fatal(err)
	}
	diskalarmtest.PutLinux(t, f.cw, diskalarmtest.LinuxDisk{InstanceID: db, Path: "/data", Device: "nvme1n1", FSType: "ext4", UsedPercent: 60})
	if _, err := f.h.Handle(context.Background(), sample(t, "scheduled.json", "")); err != nil {
		t.Fatal(err)
	}
	alarms := diskalarmtest.Alarms(t, f.cw, prefix)
	for sev, threshold := range map[string]float64{"Warning": 80, "Critical": 90} {
		a, ok := alarms[diskalarm.AlarmName(prefix, db, "/data", sev)]
		if !ok || aws.ToFloat64(a.Threshold) != threshold || a.Statistic != cwtypes.StatisticMaximum || a.ComparisonOperator != cwtypes.ComparisonOperatorGreaterThanThreshold {
			t.Errorf("%s alarm of /data = %+v, want Maximum > %g", sev, a, threshold)
		}
	}
}

func TestBadInputWritesNothing(t *testing.T) {
	f := newFixture(t, nil)
	seedFleet(t, f)
	tests := []struct {
		name, payload string
	}{
		{"no topic anywhere", `{"hostname": "Windows*"}`},
		{"malformed topic", `{"hostname": "Windows*", "sns_topic_name": "arn:aws:sns:us-east-1:disk-alerts"}`},
		{"pattern not a string", `{"hostname": {"startsWith": "Windows"}, "sns_topic_arn": "` + sampleTopic + `"}`},
		{"unknown trigger", `{"detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2", "detail": {}}`},
		{"not an object", `"Windows*"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.calls.Reset()
			_, err := f.h.Handle(context.Background(), json.RawMessage(tt.payload))
			if !errors.Is(err, diskalarm.ErrBadInput) {
				t.Errorf("Handle(%s) = %v, want a bad-input error", tt.payload, err)
			}
			if w := f.calls.Writes(); len(w) != 0 {
				t.Errorf("writes = %v, want none", w)
			}
		})
	}
	if n := len(diskalarmtest.Alarms(t, f.cw, "")); n != 0 {
		t.Errorf("alarms in the account = %d, want 0", n)
	}
}

func TestPatternMatchingNothingIsNoError(t *testing.T) {
	f := newFixture(t, nil)
	seedFleet(t, f)
	out, err := f.h.Handle(context.Background(), json.RawMessage(`{"hostname": "SQL*", "sns_topic_arn": "`+sampleTopic+`"}`))
	if err != nil {
		t.Fatalf("Handle = %v, want no error", err)
	}
	if res := out.(diskalarm.Result); res.Instances != 0 || res.Created != 0 {
		t.Errorf("result = %+v, want zero instances", res)
	}
}

// A run cut short by its deadline continues through the queue until every
// alarm is written once; the schedule stands aside meanwhile.
func TestStoppedRunResumesFromTheQueue(t *testing.T) {
	f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
	seedFleet(t, f)
	sqsClient, url := withQueue(t, f)

	f.h.rec.Limiter = &diskalarmtest.StopAfter{N: 3}
	out, err := f.h.Handle(context.Background(), sample(t, "direct-invocation.json", ""))
	if err != nil {
		t.Fatal(err)
	}
	if res := out.(diskalarm.Result); !res.Incomplete || !res.Continued || res.Created != 3 {
		t.Fatalf("first pass = %+v, want 3 created, incomplete and continued", res)
	}
	out, err = f.h.Handle(context.Background(), sample(t, "scheduled.json", ""))
	if res, _ := out.(diskalarm.Result); err != nil || !strings.Contains(res.Note, "skipped") {
		t.Errorf("scheduled run during the chain = %+v, %v, want it skipped", out, err)
	}

	for pass := 2; pass < 10; pass++ {
		msgs, err := sqsClient.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: url})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs.Messages) == 0 {
			break
		}
		m := msgs.Messages[0]
		batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), EventSource: "aws:sqs",
		}}})
		f.h.rec.Limiter = &diskalarmtest.StopAfter{N: 3}
		out, err := f.h.Handle(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
			t.Errorf("pass %d: batch item failures %v", pass, resp.BatchItemFailures)
		}
		if _, err := sqsClient.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(diskalarmtest.Alarms(t, f.cw, prefix)); n != 8 {
		t.Errorf("alarms after the chain = %d, want 8", n)
	}
	if n := f.calls.Count("CloudWatch.PutMetricAlarm"); n != 8 {
		t.Errorf("PutMetricAlarm calls over the chain = %d, want 8 (each alarm once)", n)
	}
}

// failingPuts fails every PutMetricAlarm, as a quota or validation error
// on every alarm would.
type failingPuts struct{ *cloudwatch.Client }

func (failingPuts) PutMetricAlarm(context.Context, *cloudwatch.PutMetricAlarmInput, ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	return nil, errors.New("ValidationError: injected")
}

// lastBatchAfter lets n writes through, then acts as the write deadline:
// it refuses every wait whose context ends no later than the first refused
// one's. A wait whose context reaches further, as the margin's last batch
// of deletes does, goes through.
type lastBatchAfter struct {
	n   int
	cut *time.Time
}

func (l *lastBatchAfter) Wait(ctx context.Context) error {
	dl, _ := ctx.Deadline()
	switch {
	case l.n > 0:
		l.n--
		return nil
	case l.cut == nil:
		l.cut = &dl
		return context.DeadlineExceeded
	case dl.After(*l.cut):
		return nil
	}
	return context.DeadlineExceeded
}

// putStaleAlarms gives a gone instance two of the suite's alarms, which a
// run deletes; its ID sorts before any moto makes, so the deletes come
// first in a run's writes.
func putStaleAlarms(t *testing.T, f *fixture) []string {
	t.Helper()
	const gone = "i-00000000000000000"
	var names []string
	for _, severity := range []string{"Critical", "Warning"} {
		name := diskalarm.AlarmName(prefix, gone, "C:", severity)
		names = append(names, name)
		if _, err := f.cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
			AlarmName: aws.String(name), Namespace: aws.String(diskalarmtest.Namespace), MetricName: aws.String("FreeStorageSpaceInPercent"),
			Dimensions:         []cwtypes.Dimension{{Name: aws.String("InstanceId"), Value: aws.String(gone)}, {Name: aws.String("instance"), Value: aws.String("C:")}},
			Statistic:          cwtypes.StatisticMinimum,
			ComparisonOperator: cwtypes.ComparisonOperatorLessThanThreshold,
			Threshold:          aws.Float64(20), Period: aws.Int32(300), EvaluationPeriods: aws.Int32(2),
		}); err != nil {
			t.Fatalf("PutMetricAlarm(%s): %v", name, err)
		}
	}
	return names
}

// A chain continues only while its cursor moves strictly forward, so it
// ends even when every put fails; the deletes gathered before the deadline
// still go out, so the cursor can pass them.
func TestChainEndsWhenPutsKeepFailing(t *testing.T) {
	newChain := func(t *testing.T) (*fixture, *sqs.Client, *string, []string) {
		f := newFixture(t, map[string]string{"SNS_TOPIC_ARN": sampleTopic, "INSTANCE_NAME_PATTERN": "Windows*"})
		seedFleet(t, f)
		stale := putStaleAlarms(t, f)
		sqsClient, url := withQueue(t, f)
		f.h.rec.CloudWatch = failingPuts{cloudwatch.NewFromConfig(countedConfig(f))}
		return f, sqsClient, url, stale
	}
	// receive takes the queued continuation, if any, off the queue.
	receive := func(t *testing.T, sqsClient *sqs.Client, url *string) (json.RawMessage, diskalarm.Resume, bool) {
		t.Helper()
		msgs, err := sqsClient.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: url})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs.Messages) == 0 {
			return nil, diskalarm.Resume{}, false
		}
		m := msgs.Messages[0]
		if _, err := sqsClient.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: url, ReceiptHandle: m.ReceiptHandle}); err != nil {
			t.Fatal(err)
		}
		var resume diskalarm.Resume
		if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &resume); err != nil {
			t.Fatal(err)
		}
		batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
			MessageId: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), EventSource: "aws:sqs",
		}}})
		return batch, resume, true
	}

	t.Run("each pass moves the cursor forward", func(t *testing.T) {
		f, sqsClient, url, stale := newChain(t)
		// A deadline far enough away that only the fake limiter stops runs.
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()

		f.h.rec.Limiter = &lastBatchAfter{n: 3}
		payload := sample(t, "direct-invocation.json", "")
		var cursors []string
		for pass := 1; ; pass++ {
			if pass > 10 {
				t.Fatalf("the chain did not end after 10 passes; cursors %q", cursors)
			}
			if _, err := f.h.Handle(ctx, payload); err != nil {
				t.Fatalf("pass %d: %v", pass, err)
			}
			batch, m, ok := receive(t, sqsClient, url)
			if !ok {
				break
			}
			if m.Cursor == "" || (len(cursors) > 0 && m.Cursor <= cursors[len(cursors)-1]) {
				t.Fatalf("pass %d queued cursor %q after %q, want one strictly greater", pass, m.Cursor, cursors)
			}
			cursors = append(cursors, m.Cursor)
			payload = batch
			f.h.rec.Limiter = &lastBatchAfter{n: 3}
		}
		// 2 deletes then 8 failing puts, 3 puts a pass: 3 passes.
		if len(cursors) != 2 {
			t.Errorf("continuations = %q, want 2", cursors)
		}
		alarms := diskalarmtest.Alarms(t, f.cw, prefix)
		for _, name := range stale {
			if _, ok := alarms[name]; ok {
				t.Errorf("alarm %q of a gone instance is still there, want it deleted by the first pass", name)
			}
		}
		if n := f.calls.Count("CloudWatch.DeleteAlarms"); n != 1 {
			t.Errorf("DeleteAlarms calls = %d, want 1", n)
		}
	})

	t.Run("a cursor that cannot move ends the chain", func(t *testing.T) {
		f, sqsClient, url, _ := newChain(t)
		// A continuation starting before the stale alarms; without a
		// deadline the limiter refuses the last batch too, so the deletes
		// stay pending and the cursor cannot pass them.
		const cursor = prefix + "i-"
		batch := sealedBatch(t, f, diskalarm.Resume{Kind: diskalarm.ResumeKind, Trigger: diskalarm.TriggerSchedule,
			NamePattern: "Windows*", TopicARN: sampleTopic, Cursor: cursor, Pass: 2})
		f.h.rec.Limiter = &diskalarmtest.StopAfter{N: 3}
		out, err := f.h.Handle(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		if resp := out.(events.SQSEventResponse); len(resp.BatchItemFailures) != 0 {
			t.Errorf("batch item failures %v, want none", resp.BatchItemFailures)
		}
		if n := strings.Count(f.logs.String(), `"msg":"alarm not written"`); n != 3 {
			t.Errorf("failed puts logged = %d, want 3 (the pass tried writes, yet its cursor could not move)", n)
		}
		if _, m, ok := receive(t, sqsClient, url); ok {
			t.Errorf("continuation queued with cursor %q after a pass that started at %q, want none", m.Cursor, cursor)
		}
		if !strings.Contains(f.logs.String(), "did not move forward") {
			t.Errorf("logs do not say why the chain ended:\n%s", f.logs)
		}
	})
}

// Skipped series are logged at Info with their reasons, one line for all.
func TestSkippedSeriesAreLoggedWithReasons(t *testing.T) {
	f := newFixture(t, nil)
	fl := seedFleet(t, f)
	diskalarmtest.PutWindows(t, f.cw, diskalarmtest.WindowsDisk{InstanceID: fl.app1, Drive: "_Total", SizeGiB: 1174, FreePercent: 40})
	out, err := f.h.Handle(context.Background(), sample(t, "direct-invocation.json", ""))
	if err != nil {
		t.Fatal(err)
	}
	if res := out.(diskalarm.Result); res.SkippedTotal != 1 {
		t.Fatalf("result = %+v, want 1 skipped", res)
	}
	type group struct {
		Reason string   `json:"reason"`
		Count  int      `json:"count"`
		Disks  []string `json:"disks"`
	}
	var found bool
	for line := range strings.SplitSeq(f.logs.String(), "\n") {
		var entry struct {
			Level    string  `json:"level"`
			Msg      string  `json:"msg"`
			Total    int     `json:"total"`
			ByReason []group `json:"byReason"`
		}
		if json.Unmarshal([]byte(line), &entry) != nil || entry.Msg != "series skipped" {
			continue
		}
		found = true
		want := []group{{Reason: diskalarm.ReasonWindowsTotal, Count: 1, Disks: []string{fl.app1 + " _Total"}}}
		if entry.Level != "INFO" || entry.Total != 1 {
			t.Errorf("series skipped logged at %s with total %d, want INFO and 1", entry.Level, entry.Total)
		}
		if diff := cmp.Diff(want, entry.ByReason); diff != "" {
			t.Errorf("series skipped byReason (-want +got):\n%s", diff)
		}
	}
	if !found {
		t.Errorf("no \"series skipped\" line in the logs:\n%s", f.logs)
	}
}
