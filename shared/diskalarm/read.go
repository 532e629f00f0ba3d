package diskalarm

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// The reads of a pass: the facts Reconcile plans on (instances, the
// suite's alarms, the disks' series and their datapoints), each read
// through the SDK's paginators at the largest page the API allows.

// Sizes of reads: the largest page or batch each API allows.
const (
	instancePage = 1000 // DescribeInstances MaxResults
	alarmPage    = 100  // DescribeAlarms MaxRecords
	queryBatch   = 500  // GetMetricData queries per call
	// sizeWindow is how far back a disk's size is looked for: as far as
	// ListMetrics' RecentlyActive looks, so a listed disk normally has data.
	sizeWindow = 3 * time.Hour
	// sizePeriod is an hour: the average free MB over free % of one period
	// is the size whatever the period, and fewer datapoints are cheaper.
	sizePeriod = 3600
)

// instances returns the live instances: the one asked for, or all of them.
// All, not only the selected ones: an alarm's instance that is missing from
// this map is taken as gone.
func (r *Reconciler) instances(ctx context.Context, instanceID string) (map[string]Instance, error) {
	in := &ec2.DescribeInstancesInput{
		Filters:    []ec2types.Filter{{Name: aws.String("instance-state-name"), Values: liveStates}},
		MaxResults: aws.Int32(instancePage),
	}
	if instanceID != "" {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("instance-id"), Values: []string{instanceID}})
	}
	out := map[string]Instance{}
	p := ec2.NewDescribeInstancesPaginator(r.EC2, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe instances: %w", err)
		}
		for _, res := range page.Reservations {
			for _, i := range res.Instances {
				inst := Instance{ID: aws.ToString(i.InstanceId), Tags: map[string]string{}}
				if i.State != nil {
					inst.State = string(i.State.Name)
				}
				for _, t := range i.Tags {
					inst.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
				inst.Name = inst.Tags["Name"]
				inst.Launched = aws.ToTime(i.LaunchTime)
				out[inst.ID] = inst
			}
		}
	}
	return out, nil
}

// existing returns the suite's alarms under each of the name prefixes.
func (r *Reconciler) existing(ctx context.Context, prefixes []string) ([]Alarm, error) {
	var out []Alarm
	for _, prefix := range prefixes {
		p := cloudwatch.NewDescribeAlarmsPaginator(r.CloudWatch, &cloudwatch.DescribeAlarmsInput{
			AlarmNamePrefix: aws.String(prefix),
			AlarmTypes:      []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm},
			MaxRecords:      aws.Int32(alarmPage),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("describe alarms under %q: %w", prefix, err)
			}
			for _, a := range page.MetricAlarms {
				out = append(out, fromCloudWatch(r.Alarms.Prefix, a))
			}
		}
	}
	return out, nil
}

// listMetrics lists the disk series in the namespace, one query per metric
// name, paged; for one instance, filtered to it on the server.
func (r *Reconciler) listMetrics(ctx context.Context, instanceID string) ([]Metric, error) {
	var out []Metric
	for _, name := range metricNames {
		in := &cloudwatch.ListMetricsInput{Namespace: aws.String(r.Namespace), MetricName: aws.String(name)}
		if r.RecentOnly {
			in.RecentlyActive = cwtypes.RecentlyActivePt3h
		}
		if instanceID != "" {
			in.Dimensions = []cwtypes.DimensionFilter{{Name: aws.String(dimInstanceID), Value: aws.String(instanceID)}}
		}
		p := cloudwatch.NewListMetricsPaginator(r.CloudWatch, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list metrics %s/%s: %w", r.Namespace, name, err)
			}
			for _, m := range page.Metrics {
				out = append(out, fromCloudWatchMetric(m))
			}
		}
	}
	return out, nil
}

// datapoints reads the recent datapoints of the series that resolving the
// disks needs (sized: whether a disk's size is read), up to 500 series a
// GetMetricData call.
func (r *Reconciler) datapoints(ctx context.Context, disks []listedDisk, sized func(listedDisk) bool) (Datapoints, error) {
	var series []Metric
	seen := map[string]bool{}
	for _, d := range disks {
		for _, m := range d.needsDatapoints(sized(d)) {
			if k := m.Key(); !seen[k] {
				seen[k] = true
				series = append(series, m)
			}
		}
	}
	data := Datapoints{}
	end := r.now()
	start := end.Add(-sizeWindow)
	for batch := range slices.Chunk(series, queryBatch) {
		queries := make([]cwtypes.MetricDataQuery, len(batch))
		byID := make(map[string]string, len(batch))
		for i, m := range batch {
			id := fmt.Sprintf("m%d", i)
			byID[id] = m.Key()
			queries[i] = cwtypes.MetricDataQuery{
				Id: aws.String(id),
				MetricStat: &cwtypes.MetricStat{
					Metric: &cwtypes.Metric{Namespace: aws.String(m.Namespace), MetricName: aws.String(m.Name), Dimensions: toCloudWatch(m.Dimensions)},
					Period: aws.Int32(sizePeriod),
					// Free MB and free % move together, so the ratio of
					// their averages over one period is the size exactly.
					Stat: aws.String("Average"),
				},
				ReturnData: aws.Bool(true),
			}
		}
		p := cloudwatch.NewGetMetricDataPaginator(r.CloudWatch, &cloudwatch.GetMetricDataInput{
			StartTime: aws.Time(start), EndTime: aws.Time(end),
			MetricDataQueries: queries,
			ScanBy:            cwtypes.ScanByTimestampDescending,
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("get metric data for %d series: %w", len(batch), err)
			}
			for _, res := range page.MetricDataResults {
				key := byID[aws.ToString(res.Id)]
				for i, t := range res.Timestamps {
					if i < len(res.Values) {
						data[key] = append(data[key], Point{Time: t, Value: res.Values[i]})
					}
				}
			}
		}
	}
	for k := range data {
		slices.SortFunc(data[k], func(a, b Point) int { return b.Time.Compare(a.Time) })
	}
	return data, nil
}

func fromCloudWatchMetric(m cwtypes.Metric) Metric {
	out := Metric{Namespace: aws.ToString(m.Namespace), Name: aws.ToString(m.MetricName)}
	for _, d := range m.Dimensions {
		out.Dimensions = append(out.Dimensions, Dimension{Name: aws.ToString(d.Name), Value: aws.ToString(d.Value)})
	}
	return out
}

func fromCloudWatchQueries(qs []cwtypes.MetricDataQuery) []Query {
	out := make([]Query, len(qs))
	for i, q := range qs {
		out[i] = Query{ID: aws.ToString(q.Id), Expression: aws.ToString(q.Expression), ReturnData: aws.ToBool(q.ReturnData)}
		if st := q.MetricStat; st != nil && st.Metric != nil {
			m := fromCloudWatchMetric(*st.Metric)
			out[i].Metric, out[i].Stat, out[i].Period = &m, aws.ToString(st.Stat), aws.ToInt32(st.Period)
		}
	}
	return out
}

func fromCloudWatch(prefix string, a cwtypes.MetricAlarm) Alarm {
	out := Alarm{
		Name:              aws.ToString(a.AlarmName),
		Description:       aws.ToString(a.AlarmDescription),
		Namespace:         aws.ToString(a.Namespace),
		MetricName:        aws.ToString(a.MetricName),
		Statistic:         string(a.Statistic),
		Comparison:        string(a.ComparisonOperator),
		Threshold:         aws.ToFloat64(a.Threshold),
		Period:            aws.ToInt32(a.Period),
		EvaluationPeriods: aws.ToInt32(a.EvaluationPeriods),
		DatapointsToAlarm: aws.ToInt32(a.DatapointsToAlarm),
		TreatMissingData:  aws.ToString(a.TreatMissingData),
		ActionsEnabled:    aws.ToBool(a.ActionsEnabled),
		AlarmActions:      a.AlarmActions,
		OKActions:         a.OKActions,
		InsufficientData:  a.InsufficientDataActions,
		Unit:              string(a.Unit),
		UpdatedAt:         aws.ToTime(a.AlarmConfigurationUpdatedTimestamp),
	}
	switch {
	case len(a.Metrics) > 0:
		out.Statistic = mathStatistic
		out.Metrics = fromCloudWatchQueries(a.Metrics)
	case a.ExtendedStatistic != nil:
		out.Statistic = aws.ToString(a.ExtendedStatistic)
	}
	for _, d := range a.Dimensions {
		out.Dimensions = append(out.Dimensions, Dimension{Name: aws.ToString(d.Name), Value: aws.ToString(d.Value)})
	}
	// The instance comes from the name; an alarm whose InstanceId dimension
	// says otherwise was not made by the suite and is left alone.
	out.InstanceID = instanceOfName(prefix, out.Name)
	if dim := (Metric{Dimensions: out.Dimensions}).Value(dimInstanceID); dim != "" && dim != out.InstanceID {
		out.InstanceID = ""
	}
	return out
}
