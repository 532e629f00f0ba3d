package diskalarm

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"golang.org/x/time/rate"
)

// Quotas are the default per-account, per-Region rates (calls a second) of
// the APIs the function calls. Every tool in the account shares them, so a
// pass takes only QUOTA_SHARE of each.
//
//   - CloudWatch: DescribeAlarms 9, GetMetricData 50, ListMetrics 25,
//     PutMetricAlarm 3, DeleteAlarms 3 (CloudWatch service quotas,
//     https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_limits.html).
//   - EC2: DescribeInstances, a non-mutating action, refills its token
//     bucket at 20 a second (Request throttling for the Amazon EC2 API,
//     https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html).
var Quotas = map[string]float64{
	"DescribeInstances": 20,
	"DescribeAlarms":    9,
	"GetMetricData":     50,
	"ListMetrics":       25,
	"PutMetricAlarm":    3,
	"DeleteAlarms":      3,
}

// DefaultQuotaShare is QUOTA_SHARE's default: a quarter of each quota.
const DefaultQuotaShare = 0.25

// writeAPIs are paced by WRITE_RATE (Reconciler.Limiter), as before
// QUOTA_SHARE: a first creation is bound by them.
var writeAPIs = []string{"PutMetricAlarm", "DeleteAlarms"}

// QuotaPacers paces every API but the writes at share of its quota.
func QuotaPacers(share float64) map[string]Pacer {
	out := map[string]Pacer{}
	for api, q := range Quotas {
		if !slices.Contains(writeAPIs, api) {
			out[api] = rate.NewLimiter(rate.Limit(q*share), 1)
		}
	}
	return out
}

// Calls counts a pass's calls per API.
type Calls map[string]int

// Total is the sum of the counts.
func (c Calls) Total() int {
	n := 0
	for _, v := range maps.All(c) {
		n += v
	}
	return n
}

// meter is the clients of one pass: every call is counted in calls, and
// paced by its API's pacer, if it has one.
type meter struct {
	cw     cloudWatchAPI
	ec2    ec2API
	pacers map[string]Pacer
	calls  Calls
}

func (m *meter) wait(ctx context.Context, api string) error {
	if p := m.pacers[api]; p != nil {
		if err := p.Wait(ctx); err != nil {
			// A pacer refuses only a wait past the deadline (or after it).
			return fmt.Errorf("pace %s: %w: %w", api, context.DeadlineExceeded, err)
		}
	}
	m.calls[api]++
	return nil
}

func (m *meter) DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, o ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := m.wait(ctx, "DescribeInstances"); err != nil {
		return nil, err
	}
	return m.ec2.DescribeInstances(ctx, in, o...)
}

func (m *meter) DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, o ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	if err := m.wait(ctx, "DescribeAlarms"); err != nil {
		return nil, err
	}
	return m.cw.DescribeAlarms(ctx, in, o...)
}

func (m *meter) ListMetrics(ctx context.Context, in *cloudwatch.ListMetricsInput, o ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error) {
	if err := m.wait(ctx, "ListMetrics"); err != nil {
		return nil, err
	}
	return m.cw.ListMetrics(ctx, in, o...)
}

func (m *meter) GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, o ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	if err := m.wait(ctx, "GetMetricData"); err != nil {
		return nil, err
	}
	return m.cw.GetMetricData(ctx, in, o...)
}

func (m *meter) PutMetricAlarm(ctx context.Context, in *cloudwatch.PutMetricAlarmInput, o ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	if err := m.wait(ctx, "PutMetricAlarm"); err != nil {
		return nil, err
	}
	return m.cw.PutMetricAlarm(ctx, in, o...)
}

func (m *meter) DeleteAlarms(ctx context.Context, in *cloudwatch.DeleteAlarmsInput, o ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error) {
	if err := m.wait(ctx, "DeleteAlarms"); err != nil {
		return nil, err
	}
	return m.cw.DeleteAlarms(ctx, in, o...)
}

// metered returns a copy of r whose clients count their calls in calls
// and pace them with r.Pacers.
func (r *Reconciler) metered(calls Calls) *Reconciler {
	out := *r
	m := &meter{cw: r.CloudWatch, ec2: r.EC2, pacers: r.Pacers, calls: calls}
	out.CloudWatch, out.EC2 = m, m
	return &out
}
