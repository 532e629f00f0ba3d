package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// diskAlarmScenario shows ebs-alarms on a sample fleet of its own: two
// Windows instances and a Linux one, with the CloudWatch agent's metrics.
var diskAlarmScenario = scenario{
	name:      "ebs-alarms",
	about:     "disk-space alarms are created for a sample fleet, left alone on a re-run, and removed on termination; a disk filling fast is alarmed (FILL_WITHIN) before it crosses its Warning percentage; remove-all lists them (dry run), then deletes them all",
	functions: []string{"ebs-alarms"},
	run:       ebsAlarms,
}

// sampleInstanceID is the instance ID in the sample state-change events.
const sampleInstanceID = "i-0123456789abcdef0"

type sampleDisk struct {
	instance, disk string
	windows        bool
	sizeGiB, pct   float64 // Windows: size and % free (0: full); Linux: % used
	fstype         string
}

func ebsAlarms(ctx context.Context, r *runner) error {
	cw := cloudwatch.NewFromConfig(r.cfg)
	topic, err := sns.NewFromConfig(r.cfg).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("disk-space-alerts")})
	if err != nil {
		return fmt.Errorf("create the SNS topic: %w", err)
	}
	topicARN := aws.ToString(topic.TopicArn)

	ids := map[string]string{}
	for _, name := range []string{"Windows-app-1", "Windows-app-2", "linux-web-1"} {
		if ids[name], err = launchNamed(ctx, r.ec2, name); err != nil {
			return err
		}
	}
	disks := []sampleDisk{
		{instance: "Windows-app-1", disk: "C:", windows: true, sizeGiB: 100, pct: 45},
		{instance: "Windows-app-1", disk: "D:", windows: true, sizeGiB: 1024, pct: 40},
		{instance: "Windows-app-1", disk: "E:", windows: true, sizeGiB: 50, pct: 0},
		{instance: "Windows-app-2", disk: "C:", windows: true, sizeGiB: 60, pct: 70},
		{instance: "linux-web-1", disk: "/", pct: 50, fstype: "xfs"},
		{instance: "linux-web-1", disk: "/dev/shm", pct: 1, fstype: "tmpfs"},
	}
	r.step("the fleet and what its CloudWatch agents report (namespace CWAgent, 5 minutes ago)")
	for _, d := range disks {
		what := fmt.Sprintf("%g %% used (%s)", d.pct, d.fstype)
		if d.windows {
			what = fmt.Sprintf("%g GiB, %g %% free", d.sizeGiB, d.pct)
			if d.pct == 0 {
				what = "full: 0 MB and 0 % free"
			}
		}
		r.note("%-14s %s  %-9s %s", d.instance, ids[d.instance], d.disk, what)
	}
	if err := putAgentMetrics(ctx, cw, ids, disks); err != nil {
		return err
	}

	f, err := r.start("ebs-alarms", "SNS_TOPIC_ARN="+topicARN, "INSTANCE_NAME_PATTERN=Windows*", "WRITE_RATE=20")
	if err != nil {
		return err
	}
	defer f.Close()
	prefix := diskalarm.DefaultPrefix
	name := func(instance, disk, severity string) string {
		return diskalarm.AlarmName(prefix, ids[instance], disk, severity)
	}

	direct, err := r.event("ebs-alarms", "direct-invocation.json")
	if err != nil {
		return err
	}
	// 30 s, where a fixed 30 s margin once left no time to write: the
	// margin scales with the time given (6 s of 30 s).
	r.step(`the operators' command with a 30 s timeout: {"hostname": "Windows*", "sns_topic_name": "%s"} (direct-invocation.json)`, topicARN)
	res, alarms, err := r.invokeAlarms(ctx, f, cw, direct, 30*time.Second)
	if err != nil {
		return err
	}
	r.check(len(alarms) == 8 && !res.Incomplete, "8 alarms within the 30 s: Warning and Critical for each of the 4 Windows disks (found %d)", len(alarms))
	for _, c := range []struct {
		instance, disk string
		warning        float64
		critical       float64
		why            string
	}{
		{"Windows-app-1", "C:", 30, 20, "100 GiB"},
		{"Windows-app-1", "D:", 15, 10, "1 TiB"},
		{"Windows-app-1", "E:", 30, 20, "full, size unknown"},
		{"Windows-app-2", "C:", 30, 20, "60 GiB"},
	} {
		w, cr := alarms[name(c.instance, c.disk, diskalarm.Warning)], alarms[name(c.instance, c.disk, diskalarm.Critical)]
		r.check(aws.ToFloat64(w.Threshold) == c.warning && aws.ToFloat64(cr.Threshold) == c.critical,
			"%s %s (%s): warning below %g %% free, critical below %g %%", c.instance, c.disk, c.why, c.warning, c.critical)
	}
	linux := 0
	for n := range alarms {
		if strings.HasPrefix(n, diskalarm.InstancePrefix(prefix, ids["linux-web-1"])) {
			linux++
		}
	}
	r.check(linux == 0, "no alarm for linux-web-1, whose name does not match Windows* (found %d)", linux)

	r.step("the same command again")
	if res, _, err = r.invokeAlarms(ctx, f, cw, direct, invokeTimeout); err != nil {
		return err
	}
	r.check(res.Writes == 0 && res.Unchanged == 8, "no write call: %d unchanged, %d writes", res.Unchanged, res.Writes)

	app2 := ids["Windows-app-2"]
	if _, err := r.ec2.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{app2}}); err != nil {
		return fmt.Errorf("terminate Windows-app-2: %w", err)
	}
	terminated, err := r.event("ebs-alarms", "terminated.json")
	if err != nil {
		return err
	}
	terminated = []byte(strings.ReplaceAll(string(terminated), sampleInstanceID, app2))
	r.step("Windows-app-2 is terminated (terminated.json, instance-id → %s)", app2)
	if _, alarms, err = r.invokeAlarms(ctx, f, cw, terminated, invokeTimeout); err != nil {
		return err
	}
	left := 0
	for n := range alarms {
		if strings.HasPrefix(n, diskalarm.InstancePrefix(prefix, app2)) {
			left++
		}
	}
	r.check(left == 0 && len(alarms) == 6, "Windows-app-2's 2 alarms are gone, Windows-app-1's 6 remain (%d and %d)", left, len(alarms))

	if err := fillingDisk(ctx, r, cw, topicARN); err != nil {
		return err
	}

	// Before the stack is deleted: remove what the function created.
	for _, sample := range []struct {
		file string
		want int
	}{{"remove-all-dry-run.json", 8}, {"remove-all.json", 0}} {
		payload, err := r.event("ebs-alarms", sample.file)
		if err != nil {
			return err
		}
		r.step("the operator removes every alarm under the prefix (%s)", sample.file)
		if _, alarms, err = r.invokeAlarms(ctx, f, cw, payload, invokeTimeout); err != nil {
			return err
		}
		r.check(len(alarms) == sample.want, "%d alarms left under the prefix, want %d", len(alarms), sample.want)
	}
	return nil
}

// invokeAlarms invokes the function with timeout and prints what it logged
// and returned, then how the suite's alarms changed, and returns both.
func (r *runner) invokeAlarms(ctx context.Context, f *runtimeapi.Function, cw *cloudwatch.Client, payload []byte, timeout time.Duration) (diskalarm.Result, map[string]cwtypes.MetricAlarm, error) {
	before, err := suiteAlarms(ctx, cw)
	if err != nil {
		return diskalarm.Result{}, nil, err
	}
	out, err := f.Invoke(ctx, payload, timeout)
	r.result(out)
	if err != nil {
		return diskalarm.Result{}, nil, err
	}
	var res diskalarm.Result
	if out.FunctionError == nil {
		if err := json.Unmarshal(out.Payload, &res); err != nil {
			return res, nil, fmt.Errorf("read the result: %w", err)
		}
	}
	after, err := suiteAlarms(ctx, cw)
	if err != nil {
		return res, nil, err
	}
	r.printAlarmChanges(before, after)
	return res, after, nil
}

func (r *runner) printAlarmChanges(before, after map[string]cwtypes.MetricAlarm) {
	var rows []string
	for _, n := range slices.Sorted(maps.Keys(after)) {
		if _, old := before[n]; !old {
			rows = append(rows, "+ "+alarmRow(after[n]))
		}
	}
	for _, n := range slices.Sorted(maps.Keys(before)) {
		if _, still := after[n]; !still {
			rows = append(rows, "- "+alarmRow(before[n]))
		}
	}
	if len(rows) == 0 {
		r.note("ALARMS no change (%d)", len(after))
		return
	}
	r.note("ALARMS %d → %d", len(before), len(after))
	tw := tabwriter.NewWriter(r.w, 0, 0, 2, ' ', 0)
	for _, row := range rows {
		fmt.Fprintf(tw, "         %s\n", row)
	}
	tw.Flush()
}

func alarmRow(a cwtypes.MetricAlarm) string {
	op := "<"
	if a.ComparisonOperator == cwtypes.ComparisonOperatorGreaterThanThreshold {
		op = ">"
	}
	var dims []string
	for _, d := range a.Dimensions {
		dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
	}
	return fmt.Sprintf("%s\t%s %s %s %g\t%s", aws.ToString(a.AlarmName), a.Statistic, aws.ToString(a.MetricName), op,
		aws.ToFloat64(a.Threshold), strings.Join(dims, ","))
}

func suiteAlarms(ctx context.Context, cw *cloudwatch.Client) (map[string]cwtypes.MetricAlarm, error) {
	out := map[string]cwtypes.MetricAlarm{}
	p := cloudwatch.NewDescribeAlarmsPaginator(cw, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(diskalarm.DefaultPrefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe alarms: %w", err)
		}
		for _, a := range page.MetricAlarms {
			out[aws.ToString(a.AlarmName)] = a
		}
	}
	return out, nil
}

func launchNamed(ctx context.Context, c *ec2.Client, name string) (string, error) {
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(awstest.AMI), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT3Micro,
		Placement:    &types.Placement{AvailabilityZone: aws.String(zone)},
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags:         []types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("RunInstances %s: %w", name, err)
	}
	return aws.ToString(out.Instances[0].InstanceId), nil
}

// putAgentMetrics publishes what the CloudWatch agent would, stamped 5
// minutes ago as the agent's data is by the time anyone reads it.
func putAgentMetrics(ctx context.Context, cw *cloudwatch.Client, ids map[string]string, disks []sampleDisk) error {
	ts := aws.Time(time.Now().Add(-5 * time.Minute))
	dim := func(name, value string) cwtypes.Dimension {
		return cwtypes.Dimension{Name: aws.String(name), Value: aws.String(value)}
	}
	var data []cwtypes.MetricDatum
	for _, d := range disks {
		id := ids[d.instance]
		appended := []cwtypes.Dimension{dim("InstanceId", id), dim("ImageId", awstest.AMI), dim("InstanceType", "t3.micro")}
		if !d.windows {
			dims := append([]cwtypes.Dimension{dim("path", d.disk), dim("device", "nvme0n1p1"), dim("fstype", d.fstype)}, appended...)
			data = append(data, cwtypes.MetricDatum{MetricName: aws.String(diskalarm.MetricUsedPercent), Dimensions: dims, Value: aws.Float64(d.pct), Timestamp: ts})
			continue
		}
		dims := append([]cwtypes.Dimension{dim("instance", d.disk), dim("objectname", "LogicalDisk")}, appended...)
		freeMB := d.sizeGiB * 1024 * d.pct / 100
		data = append(data,
			cwtypes.MetricDatum{MetricName: aws.String(diskalarm.MetricFreePercent), Dimensions: dims, Value: aws.Float64(d.pct), Timestamp: ts},
			cwtypes.MetricDatum{MetricName: aws.String(diskalarm.MetricFreeMegabytes), Dimensions: dims, Value: aws.Float64(freeMB), Timestamp: ts})
	}
	if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("CWAgent"), MetricData: data}); err != nil {
		return fmt.Errorf("put the agent's metrics: %w", err)
	}
	return nil
}

// fillingDisk shows FILL_WITHIN: a 1 TiB disk losing 3.5 % of its space an
// hour, 21 % free now (its Warning is at 15 %), so full in 6 hours. moto
// stores the metric-math alarm but does not evaluate metric math, so the
// run evaluates the alarm's expression on the seeded series with
// diskalarm.WarningSignal, the formula's reference, and says so.
func fillingDisk(ctx context.Context, r *runner, cw *cloudwatch.Client, topicARN string) error {
	id, err := launchNamed(ctx, r.ec2, "Windows-fill-1")
	if err != nil {
		return err
	}
	r.step("FILL_WITHIN=24h: Windows-fill-1 %s, D: 1 TiB, filling at 3.5 %% an hour for the last 4 hours, 21 %% free now", id)
	now := time.Now().Truncate(5 * time.Minute)
	var series []diskalarm.Point
	for t := now.Add(-4 * time.Hour); t.Before(now); t = t.Add(5 * time.Minute) {
		series = append(series, diskalarm.Point{Time: t, Value: 21 + 3.5*now.Sub(t).Hours()})
	}
	if err := putSeries(ctx, cw, id, "D:", 1024, series); err != nil {
		return err
	}
	g, err := r.start("ebs-alarms", "SNS_TOPIC_ARN="+topicARN, "FILL_WITHIN=24h", "WRITE_RATE=20")
	if err != nil {
		return err
	}
	defer g.Close()
	payload := fmt.Sprintf(`{"hostname": "Windows-fill-*", "sns_topic_arn": %q}`, topicARN)
	r.step("the operators' command for Windows-fill-* with FILL_WITHIN=24h")
	_, alarms, err := r.invokeAlarms(ctx, g, cw, []byte(payload), invokeTimeout)
	if err != nil {
		return err
	}
	w := alarms[diskalarm.AlarmName(diskalarm.DefaultPrefix, id, "D:", diskalarm.Warning)]
	var expr string
	for _, q := range w.Metrics {
		if aws.ToBool(q.ReturnData) {
			expr = aws.ToString(q.Expression)
		}
	}
	r.check(expr != "", "the Warning alarm watches metric math: %s", expr)
	hourly := diskalarm.Hourly(series)
	signal := diskalarm.WarningSignal(hourly, 15, 24*time.Hour)
	last := hourly[len(hourly)-1].Lowest
	r.note("evaluated here on the seeded series, as moto does not evaluate metric math: hourly lowest free %v, expression %v", lowest(hourly), signal)
	r.check(diskalarm.Alarming(signal) && last > 15, "the Warning alarm fires (2 of 3 hours) at %.1f %% free, before the disk crosses its 15 %% Warning", last)
	return nil
}

func lowest(hs []diskalarm.HourPoint) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = fmt.Sprintf("%.1f", h.Lowest)
	}
	return out
}

// putSeries publishes a Windows disk's two free-space series at the given
// times, as its agent would have.
func putSeries(ctx context.Context, cw *cloudwatch.Client, id, drive string, sizeGiB float64, pts []diskalarm.Point) error {
	dim := func(name, value string) cwtypes.Dimension {
		return cwtypes.Dimension{Name: aws.String(name), Value: aws.String(value)}
	}
	dims := []cwtypes.Dimension{dim("instance", drive), dim("objectname", "LogicalDisk"), dim("InstanceId", id), dim("ImageId", awstest.AMI), dim("InstanceType", "t3.micro")}
	var data []cwtypes.MetricDatum
	for _, p := range pts {
		data = append(data,
			cwtypes.MetricDatum{MetricName: aws.String(diskalarm.MetricFreePercent), Dimensions: dims, Value: aws.Float64(p.Value), Timestamp: aws.Time(p.Time)},
			cwtypes.MetricDatum{MetricName: aws.String(diskalarm.MetricFreeMegabytes), Dimensions: dims, Value: aws.Float64(sizeGiB * 1024 * p.Value / 100), Timestamp: aws.Time(p.Time)})
	}
	for batch := range slices.Chunk(data, 500) {
		if _, err := cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("CWAgent"), MetricData: batch}); err != nil {
			return fmt.Errorf("put the filling disk's metrics: %w", err)
		}
	}
	return nil
}
