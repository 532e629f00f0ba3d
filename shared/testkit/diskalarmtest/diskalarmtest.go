// Package diskalarmtest seeds CloudWatch agent disk metrics into a local
// AWS (moto) and reads back the alarms, for the tests of diskalarm and of
// the ebs-alarms function.
package diskalarmtest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Namespace is the CloudWatch agent's default namespace.
const Namespace = "CWAgent"

// Seeded datapoints are stamped this far in the past, as the agent's data
// is by the time anyone reads it: moto drops sub-seconds, so a point put
// "now" can fall outside a query that ends now.
const dataAge = 5 * time.Minute

// AppendedDimensions are what the agent's append_dimensions add to every
// series in a typical configuration; an alarm must carry them too.
func AppendedDimensions() []types.Dimension {
	return []types.Dimension{
		{Name: aws.String("ImageId"), Value: aws.String("ami-0abcdef1234567890")},
		{Name: aws.String("InstanceType"), Value: aws.String("m5.large")},
	}
}

// WindowsDisk is one Windows disk to seed.
type WindowsDisk struct {
	InstanceID string
	Drive      string  // C:
	SizeGiB    float64 // with FreePercent, gives the free megabytes
	// FreePercent of 0 seeds a full disk: 0 MB and 0 % free.
	FreePercent float64
	// AgentNames uses the agent's default metric names instead of the
	// FreeStorageSpaceIn* renames.
	AgentNames bool
}

// Series returns the disk's two metrics as the agent publishes them.
func (d WindowsDisk) Series() (percent, megabytes types.MetricDatum) {
	dims := append([]types.Dimension{
		{Name: aws.String("InstanceId"), Value: aws.String(d.InstanceID)},
		{Name: aws.String("instance"), Value: aws.String(d.Drive)},
		{Name: aws.String("objectname"), Value: aws.String("LogicalDisk")},
	}, AppendedDimensions()...)
	// The names are spelt out, not taken from diskalarm: the seed says
	// what the agent publishes, independently of the code under test.
	pctName, mbName := "FreeStorageSpaceInPercent", "FreeStorageSpaceInMB"
	if d.AgentNames {
		pctName, mbName = "LogicalDisk % Free Space", "LogicalDisk Free Megabytes"
	}
	ts := aws.Time(time.Now().Add(-dataAge))
	freeMB := d.SizeGiB * 1024 * d.FreePercent / 100
	percent = types.MetricDatum{MetricName: aws.String(pctName), Dimensions: dims, Value: aws.Float64(d.FreePercent), Timestamp: ts, Unit: types.StandardUnitPercent}
	megabytes = types.MetricDatum{MetricName: aws.String(mbName), Dimensions: slices.Clone(dims), Value: aws.Float64(freeMB), Timestamp: ts, Unit: types.StandardUnitMegabytes}
	return percent, megabytes
}

// LinuxDisk is one Linux filesystem to seed.
type LinuxDisk struct {
	InstanceID  string
	Path        string
	Device      string
	FSType      string
	UsedPercent float64
}

// Series returns the filesystem's disk_used_percent metric.
func (d LinuxDisk) Series() types.MetricDatum {
	dims := append([]types.Dimension{
		{Name: aws.String("InstanceId"), Value: aws.String(d.InstanceID)},
		{Name: aws.String("path"), Value: aws.String(d.Path)},
		{Name: aws.String("device"), Value: aws.String(d.Device)},
		{Name: aws.String("fstype"), Value: aws.String(d.FSType)},
	}, AppendedDimensions()...)
	return types.MetricDatum{
		MetricName: aws.String("disk_used_percent"), Dimensions: dims,
		Value: aws.Float64(d.UsedPercent), Timestamp: aws.Time(time.Now().Add(-dataAge)), Unit: types.StandardUnitPercent,
	}
}

// Put publishes datapoints into the agent's namespace, 50 a call: moto's
// request parsing slows down sharply with larger calls (AWS takes 1,000).
func Put(tb testing.TB, c *cloudwatch.Client, data ...types.MetricDatum) {
	tb.Helper()
	for batch := range slices.Chunk(data, 50) {
		if _, err := c.PutMetricData(context.Background(), &cloudwatch.PutMetricDataInput{Namespace: aws.String(Namespace), MetricData: batch}); err != nil {
			tb.Fatalf("PutMetricData: %v", err)
		}
	}
}

// PutWindows publishes the disks' metrics.
func PutWindows(tb testing.TB, c *cloudwatch.Client, disks ...WindowsDisk) {
	tb.Helper()
	var data []types.MetricDatum
	for _, d := range disks {
		p, m := d.Series()
		data = append(data, p, m)
	}
	Put(tb, c, data...)
}

// PutLinux publishes the filesystems' metrics.
func PutLinux(tb testing.TB, c *cloudwatch.Client, disks ...LinuxDisk) {
	tb.Helper()
	var data []types.MetricDatum
	for _, d := range disks {
		data = append(data, d.Series())
	}
	Put(tb, c, data...)
}

// Alarms returns the alarms under prefix, by name, as the account has them.
func Alarms(tb testing.TB, c *cloudwatch.Client, prefix string) map[string]types.MetricAlarm {
	tb.Helper()
	out := map[string]types.MetricAlarm{}
	p := cloudwatch.NewDescribeAlarmsPaginator(c, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			tb.Fatalf("DescribeAlarms(%q): %v", prefix, err)
		}
		for _, a := range page.MetricAlarms {
			out[aws.ToString(a.AlarmName)] = a
		}
	}
	return out
}

// Dimensions renders dimensions as sorted name=value strings, to compare an
// alarm's with its metric's.
func Dimensions(dims []types.Dimension) []string {
	out := make([]string, len(dims))
	for i, d := range dims {
		out[i] = aws.ToString(d.Name) + "=" + aws.ToString(d.Value)
	}
	slices.Sort(out)
	return out
}

// StopAfter is a write pacer (diskalarm.Reconciler.Limiter) that lets N
// writes through, then acts as a deadline that has come. Set a new one for
// each pass.
type StopAfter struct{ N int }

// Wait lets a write through while N lasts.
func (s *StopAfter) Wait(context.Context) error {
	if s.N == 0 {
		return context.DeadlineExceeded
	}
	s.N--
	return nil
}
