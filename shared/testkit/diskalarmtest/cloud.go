package diskalarmtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Cloud is an in-memory stand-in for the EC2 and CloudWatch calls the
// disk alarms make, on a virtual clock, for the tests that need a fleet of
// a size moto cannot hold and for the scale model in `make bench`. It
// keeps AWS's per-account quotas (Quotas, calls a second): a call past its
// API's quota in the current virtual second fails with Throttling, as
// CloudWatch's do. Every call takes Latency of virtual time; no wall time
// passes. It is not safe for concurrent use: a pass is sequential.
type Cloud struct {
	Clock   *Clock
	Quotas  map[string]float64 // API name → calls a second; absent: none
	Latency time.Duration

	instances map[string]*Instance
	order     []string // instance IDs in launch order
	series    []*Series
	byName    map[string][]cwtypes.Metric // the series by metric name; nil when stale
	byKey     map[string]*Series          // nil when stale
	alarms    map[string]*alarm
	// The alarm names, sorted, in shards by their first ShardLen bytes, so
	// that a write costs little in a fleet of 600,000 alarms. Zero: one
	// shard.
	ShardLen  int
	shards    map[string][]string
	shardKeys []string // sorted

	// Calls counts the calls per API, Throttled the calls refused,
	// Metrics the series GetMetricData was asked for.
	Calls     map[string]int
	Throttled map[string]int
	Metrics   int

	second int64          // the virtual second the counts below are of
	inSec  map[string]int // calls per API in that second

	// The answer a listing's first page took, which its next pages page
	// through, as a snapshot.
	instancePages []ec2types.Instance
	metricPages   []cwtypes.Metric
}

// Instance is an EC2 instance of the Cloud.
type Instance struct {
	ID         string
	State      string
	Tags       map[string]string
	LaunchTime time.Time
}

// Series is a metric with its value as a function of time.
type Series struct {
	Namespace, Name string
	Dimensions      []cwtypes.Dimension
	Value           func(time.Time) float64
}

type alarm struct {
	cwtypes.MetricAlarm
	tags map[string]string
}

// Clock is a virtual clock.
type Clock struct{ t time.Time }

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.t }

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// Set moves the clock to t, if t is later.
func (c *Clock) Set(t time.Time) {
	if t.After(c.t) {
		c.t = t
	}
}

// NewCloud returns an empty account on clock with the given quotas.
func NewCloud(clock *Clock, quotas map[string]float64) *Cloud {
	return &Cloud{Clock: clock, Quotas: quotas, Latency: 20 * time.Millisecond,
		instances: map[string]*Instance{}, alarms: map[string]*alarm{}, shards: map[string][]string{},
		Calls: map[string]int{}, Throttled: map[string]int{}, inSec: map[string]int{}}
}

// ResetCounts zeroes Calls, Throttled and Metrics.
func (c *Cloud) ResetCounts() {
	c.Calls, c.Throttled, c.Metrics = map[string]int{}, map[string]int{}, 0
}

// Launch adds a running instance named name with the given ID.
func (c *Cloud) Launch(id, name string) *Instance {
	i := &Instance{ID: id, State: "running", Tags: map[string]string{"Name": name}, LaunchTime: c.Clock.Now()}
	c.instances[id] = i
	c.order = append(c.order, id)
	return i
}

// Instance returns the instance with ID id, or nil.
func (c *Cloud) Instance(id string) *Instance { return c.instances[id] }

// Terminate takes the instance out of the account, as EC2 does an hour
// after termination.
func (c *Cloud) Terminate(id string) { delete(c.instances, id) }

// AddSeries publishes a series.
func (c *Cloud) AddSeries(s *Series) {
	c.series = append(c.series, s)
	c.byName, c.byKey = nil, nil
}

func (c *Cloud) index() {
	if c.byName != nil {
		return
	}
	c.byName, c.byKey = map[string][]cwtypes.Metric{}, map[string]*Series{}
	for _, s := range c.series {
		c.byName[s.Name] = append(c.byName[s.Name], cwtypes.Metric{Namespace: aws.String(s.Namespace), MetricName: aws.String(s.Name), Dimensions: s.Dimensions})
		c.byKey[seriesKey(s.Namespace, s.Name, s.Dimensions)] = s
	}
}

// Windows publishes a Windows disk's two series (the FreeStorageSpaceIn*
// renames) and returns them; size and free give their values over time.
func (c *Cloud) Windows(id, drive string, size, free func(time.Time) float64) (percent, megabytes *Series) {
	dims := []cwtypes.Dimension{
		{Name: aws.String("InstanceId"), Value: aws.String(id)},
		{Name: aws.String("instance"), Value: aws.String(drive)},
		{Name: aws.String("objectname"), Value: aws.String("LogicalDisk")},
	}
	percent = &Series{Namespace: Namespace, Name: "FreeStorageSpaceInPercent", Dimensions: dims, Value: free}
	megabytes = &Series{Namespace: Namespace, Name: "FreeStorageSpaceInMB", Dimensions: slices.Clone(dims),
		Value: func(t time.Time) float64 { return size(t) * 1024 * free(t) / 100 }}
	c.AddSeries(percent)
	c.AddSeries(megabytes)
	return percent, megabytes
}

// Linux publishes a filesystem's disk_used_percent series.
func (c *Cloud) Linux(id, path string, used func(time.Time) float64) *Series {
	s := &Series{Namespace: Namespace, Name: "disk_used_percent", Value: used, Dimensions: []cwtypes.Dimension{
		{Name: aws.String("InstanceId"), Value: aws.String(id)},
		{Name: aws.String("path"), Value: aws.String(path)},
		{Name: aws.String("device"), Value: aws.String("nvme0n1p1")},
		{Name: aws.String("fstype"), Value: aws.String("xfs")},
	}}
	c.AddSeries(s)
	return s
}

// Const is a value that does not change.
func Const(v float64) func(time.Time) float64 { return func(time.Time) float64 { return v } }

// Alarm returns the alarm called name and its tags, or false.
func (c *Cloud) Alarm(name string) (cwtypes.MetricAlarm, map[string]string, bool) {
	a, ok := c.alarms[name]
	if !ok {
		return cwtypes.MetricAlarm{}, nil, false
	}
	return a.MetricAlarm, maps.Clone(a.tags), true
}

// AlarmNames returns the names of every alarm, sorted.
func (c *Cloud) AlarmNames() []string {
	var out []string
	for _, k := range c.shardKeys {
		out = append(out, c.shards[k]...)
	}
	return out
}

func (c *Cloud) shardOf(name string) string { return name[:min(c.ShardLen, len(name))] }

func (c *Cloud) addName(name string) {
	k := c.shardOf(name)
	s, ok := c.shards[k]
	if !ok {
		i, _ := slices.BinarySearch(c.shardKeys, k)
		c.shardKeys = slices.Insert(c.shardKeys, i, k)
	}
	i, _ := slices.BinarySearch(s, name)
	c.shards[k] = slices.Insert(s, i, name)
}

func (c *Cloud) removeName(name string) {
	k := c.shardOf(name)
	s := c.shards[k]
	if i, ok := slices.BinarySearch(s, name); ok {
		c.shards[k] = slices.Delete(s, i, i+1)
	}
}

// namesFrom yields the names from the first at or after from, in order.
func (c *Cloud) namesFrom(from string, yield func(string) bool) {
	first, _ := slices.BinarySearch(c.shardKeys, c.shardOf(from))
	for _, k := range c.shardKeys[first:] {
		s := c.shards[k]
		i, _ := slices.BinarySearch(s, from)
		for _, n := range s[i:] {
			if !yield(n) {
				return
			}
		}
	}
}

// SetState sets an alarm's state, as its evaluation would.
func (c *Cloud) SetState(name string, state cwtypes.StateValue) {
	if a, ok := c.alarms[name]; ok {
		a.StateValue = state
		a.StateUpdatedTimestamp = aws.Time(c.Clock.Now())
	}
}

// call counts a call to api, spends its latency, and refuses it when the
// API's quota for the current virtual second is spent.
func (c *Cloud) call(api string) error {
	c.Clock.Advance(c.Latency)
	if sec := c.Clock.Now().Unix(); sec != c.second {
		c.second, c.inSec = sec, map[string]int{}
	}
	if q, ok := c.Quotas[api]; ok && float64(c.inSec[api]+1) > q {
		c.Throttled[api]++
		return &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}
	}
	c.inSec[api]++
	c.Calls[api]++
	return nil
}

func page[T any](all []T, token *string, size int) (items []T, next *string) {
	from := 0
	if token != nil {
		from, _ = strconv.Atoi(*token)
	}
	to := min(from+size, len(all))
	if to < len(all) {
		next = aws.String(strconv.Itoa(to))
	}
	return all[min(from, len(all)):to], next
}

// DescribeInstances answers the instance-state-name and instance-id
// filters, in launch order.
func (c *Cloud) DescribeInstances(_ context.Context, in *ec2.DescribeInstancesInput, _ ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error) {
	if err := c.call("DescribeInstances"); err != nil {
		return nil, err
	}
	if in.NextToken == nil {
		c.instancePages = nil
		for _, id := range c.order {
			i, ok := c.instances[id]
			if !ok || !filtersMatch(in.Filters, i) {
				continue
			}
			out := ec2types.Instance{InstanceId: aws.String(i.ID), State: &ec2types.InstanceState{Name: ec2types.InstanceStateName(i.State)},
				LaunchTime: aws.Time(i.LaunchTime)}
			for k, v := range i.Tags {
				out.Tags = append(out.Tags, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			c.instancePages = append(c.instancePages, out)
		}
	}
	match := c.instancePages
	size := int(aws.ToInt32(in.MaxResults))
	if size <= 0 {
		size = 1000
	}
	items, next := page(match, in.NextToken, size)
	return &ec2.DescribeInstancesOutput{Reservations: []ec2types.Reservation{{Instances: items}}, NextToken: next}, nil
}

func filtersMatch(filters []ec2types.Filter, i *Instance) bool {
	for _, f := range filters {
		var v string
		switch aws.ToString(f.Name) {
		case "instance-state-name":
			v = i.State
		case "instance-id":
			v = i.ID
		default:
			continue
		}
		if !slices.Contains(f.Values, v) {
			return false
		}
	}
	return true
}

// ListMetrics answers the namespace, name and dimension filters, 500 a page.
func (c *Cloud) ListMetrics(_ context.Context, in *cloudwatch.ListMetricsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.ListMetricsOutput, error) {
	if err := c.call("ListMetrics"); err != nil {
		return nil, err
	}
	c.index()
	if in.NextToken == nil {
		c.metricPages = nil
		for _, m := range c.byName[aws.ToString(in.MetricName)] {
			if (in.Namespace == nil || *in.Namespace == *m.Namespace) && dimsMatch(in.Dimensions, m.Dimensions) {
				c.metricPages = append(c.metricPages, m)
			}
		}
	}
	items, next := page(c.metricPages, in.NextToken, 500)
	return &cloudwatch.ListMetricsOutput{Metrics: items, NextToken: next}, nil
}

func dimsMatch(filter []cwtypes.DimensionFilter, dims []cwtypes.Dimension) bool {
	for _, f := range filter {
		if !slices.ContainsFunc(dims, func(d cwtypes.Dimension) bool {
			return aws.ToString(d.Name) == aws.ToString(f.Name) && (f.Value == nil || aws.ToString(d.Value) == aws.ToString(f.Value))
		}) {
			return false
		}
	}
	return true
}

func seriesKey(namespace, name string, dims []cwtypes.Dimension) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = aws.ToString(d.Name) + "=" + aws.ToString(d.Value)
	}
	slices.Sort(parts)
	return namespace + "\x00" + name + "\x00" + strings.Join(parts, "\x00")
}

// GetMetricData answers MetricStat queries with one value a period, the
// series' value at the period's start, newest first. Metrics counts each
// query: CloudWatch bills GetMetricData by the metrics requested.
func (c *Cloud) GetMetricData(_ context.Context, in *cloudwatch.GetMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error) {
	if err := c.call("GetMetricData"); err != nil {
		return nil, err
	}
	if len(in.MetricDataQueries) > 500 {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "more than 500 queries"}
	}
	c.index()
	byKey := c.byKey
	out := &cloudwatch.GetMetricDataOutput{}
	for _, q := range in.MetricDataQueries {
		c.Metrics++
		res := cwtypes.MetricDataResult{Id: q.Id, StatusCode: cwtypes.StatusCodeComplete}
		if st := q.MetricStat; st != nil {
			if s := byKey[seriesKey(aws.ToString(st.Metric.Namespace), aws.ToString(st.Metric.MetricName), st.Metric.Dimensions)]; s != nil {
				period := time.Duration(aws.ToInt32(st.Period)) * time.Second
				for t := aws.ToTime(in.EndTime).Truncate(period); !t.Before(aws.ToTime(in.StartTime)); t = t.Add(-period) {
					if t.Add(period).After(c.Clock.Now()) {
						continue // a period not yet complete
					}
					res.Timestamps = append(res.Timestamps, t)
					res.Values = append(res.Values, s.Value(t))
				}
			}
		}
		out.MetricDataResults = append(out.MetricDataResults, res)
	}
	return out, nil
}

// DescribeAlarms answers AlarmNamePrefix and StateValue, sorted by name,
// MaxRecords a page (at most 100).
func (c *Cloud) DescribeAlarms(_ context.Context, in *cloudwatch.DescribeAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error) {
	if err := c.call("DescribeAlarms"); err != nil {
		return nil, err
	}
	prefix := aws.ToString(in.AlarmNamePrefix)
	from := prefix
	if in.NextToken != nil {
		from = *in.NextToken
	}
	size := int(aws.ToInt32(in.MaxRecords))
	if size <= 0 || size > 100 {
		size = 100
	}
	out := &cloudwatch.DescribeAlarmsOutput{}
	c.namesFrom(from, func(name string) bool {
		if !strings.HasPrefix(name, prefix) {
			// Names under a prefix sort together: the first one past it
			// ends the answer, unless the shard holds shorter names.
			return name < prefix
		}
		a := c.alarms[name]
		if in.StateValue != "" && a.StateValue != in.StateValue {
			return true
		}
		if len(out.MetricAlarms) == size {
			out.NextToken = aws.String(name)
			return false
		}
		out.MetricAlarms = append(out.MetricAlarms, a.MetricAlarm)
		return true
	})
	return out, nil
}

// PutMetricAlarm creates or updates an alarm; tags count only on create,
// as CloudWatch's do.
func (c *Cloud) PutMetricAlarm(_ context.Context, in *cloudwatch.PutMetricAlarmInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricAlarmOutput, error) {
	if err := c.call("PutMetricAlarm"); err != nil {
		return nil, err
	}
	name := aws.ToString(in.AlarmName)
	a, exists := c.alarms[name]
	if !exists {
		a = &alarm{tags: map[string]string{}}
		a.StateValue = cwtypes.StateValueInsufficientData
		for _, t := range in.Tags {
			a.tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		c.alarms[name] = a
		c.addName(name)
	}
	a.MetricAlarm = cwtypes.MetricAlarm{
		AlarmName: in.AlarmName, AlarmArn: aws.String("arn:aws:cloudwatch:us-east-1:123456789012:alarm:" + name),
		AlarmDescription: in.AlarmDescription, Namespace: in.Namespace, MetricName: in.MetricName, Dimensions: in.Dimensions,
		Statistic: in.Statistic, ComparisonOperator: in.ComparisonOperator, Threshold: in.Threshold, Period: in.Period,
		EvaluationPeriods: in.EvaluationPeriods, DatapointsToAlarm: in.DatapointsToAlarm, TreatMissingData: in.TreatMissingData,
		ActionsEnabled: in.ActionsEnabled, AlarmActions: in.AlarmActions, OKActions: in.OKActions, Metrics: in.Metrics,
		InsufficientDataActions: in.InsufficientDataActions, Unit: in.Unit, ThresholdMetricId: in.ThresholdMetricId,
		AlarmConfigurationUpdatedTimestamp: aws.Time(c.Clock.Now()),
		StateValue:                         a.StateValue, StateUpdatedTimestamp: a.StateUpdatedTimestamp,
	}
	return &cloudwatch.PutMetricAlarmOutput{}, nil
}

// DeleteAlarms deletes up to 100 alarms.
func (c *Cloud) DeleteAlarms(_ context.Context, in *cloudwatch.DeleteAlarmsInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.DeleteAlarmsOutput, error) {
	if err := c.call("DeleteAlarms"); err != nil {
		return nil, err
	}
	if len(in.AlarmNames) > 100 {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: fmt.Sprintf("%d names, want at most 100", len(in.AlarmNames))}
	}
	for _, n := range in.AlarmNames {
		if _, ok := c.alarms[n]; ok {
			delete(c.alarms, n)
			c.removeName(n)
		}
	}
	return &cloudwatch.DeleteAlarmsOutput{}, nil
}

// Pacer paces calls on the Cloud's clock: Wait moves the clock to the
// next call's turn, at Rate calls a second, and fails, as
// rate.Limiter.Wait does at a context's deadline, when the turn would come
// after Deadline (zero: none).
type Pacer struct {
	Clock    *Clock
	Rate     float64
	Deadline *time.Time
	next     time.Time
}

// Wait waits, in virtual time, for the next call's turn.
func (p *Pacer) Wait(context.Context) error {
	at := p.Clock.Now()
	if p.next.After(at) {
		at = p.next
	}
	if p.Deadline != nil && !p.Deadline.IsZero() && at.After(*p.Deadline) {
		return context.DeadlineExceeded
	}
	p.Clock.Set(at)
	p.next = at.Add(time.Duration(float64(time.Second) / p.Rate))
	return nil
}
