package diskalarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// Sizes of reads and writes: the largest page or batch each API allows.
const (
	instancePage = 1000 // DescribeInstances MaxResults
	alarmPage    = 100  // DescribeAlarms MaxRecords
	queryBatch   = 500  // GetMetricData queries per call
	deleteBatch  = 100  // DeleteAlarms names per call
	// sizeWindow is how far back a disk's size is looked for: as far as
	// ListMetrics' RecentlyActive looks, so a listed disk normally has data.
	sizeWindow = 3 * time.Hour
	// sizePeriod is an hour: the average free MB over free % of one period
	// is the size whatever the period, and fewer datapoints are cheaper.
	sizePeriod = 3600
	// maxListed caps the lists in a Result: a 20,000-instance fleet can
	// have tens of thousands of skipped series, and a Lambda response is
	// limited to 6 MB. Totals are always complete.
	maxListed = 100
)

// ErrOutOfTime marks a run that the deadline stopped before it could make
// any progress: its reads did not finish in time, or no write could be
// tried. A longer timeout, not a retry, is the cure.
var ErrOutOfTime = errors.New("out of time")

// Triggers, as results and logs name them.
const (
	TriggerDirect     = "direct"
	TriggerRunning    = "running"
	TriggerTerminated = "terminated"
	TriggerSchedule   = "schedule"
	TriggerResume     = "resume"
)

// Request is one reconcile run.
type Request struct {
	Trigger string
	// Selector says which instances get alarms.
	Selector Selector
	// InstanceID, when set, limits the run to that one instance (state-change
	// events); otherwise the run covers the whole fleet.
	InstanceID string
	// TopicARN receives the alarms' notifications; required when the
	// selector can select anything.
	TopicARN string
	// Cursor resumes a run that stopped before its deadline: writes start
	// after this alarm name.
	Cursor string
}

// Validate checks a request before any call is made.
func (q Request) Validate() error {
	var errs []error
	if q.Selector.NamePattern != "" {
		errs = append(errs, ValidatePattern(q.Selector.NamePattern))
	}
	if !q.Selector.Empty() {
		errs = append(errs, checkTopic(q.TopicARN))
	}
	if q.InstanceID != "" && !awsid.IsInstanceID(q.InstanceID) {
		errs = append(errs, badInput("%q is not an EC2 instance ID (i-…)", q.InstanceID))
	}
	if len(q.Cursor) > maxNameBytes {
		errs = append(errs, badInput("the cursor is longer than an alarm name"))
	}
	return errors.Join(errs...)
}

// Failure is a write that did not succeed.
type Failure struct {
	Alarm string `json:"alarm"`
	Error string `json:"error"`
}

// Result is what a run returns and logs.
type Result struct {
	Trigger   string `json:"trigger"`
	Scope     string `json:"scope"`
	Selection string `json:"selection"`
	Instances int    `json:"instances"` // selected
	Disks     int    `json:"disks"`     // given alarms
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Deleted   int    `json:"deleted"`
	// Kept counts existing alarms this run did not want but left alone.
	Kept int `json:"kept"`
	// Skipped lists series of selected instances that are not disks with
	// alarms (up to 100); SkippedTotal counts them all.
	Skipped      []Skip `json:"skipped"`
	SkippedTotal int    `json:"skippedTotal"`
	// SizeUnknown lists Windows disks alarmed with the smallest band's
	// thresholds because their size could not be derived (up to 100).
	SizeUnknown []Skip    `json:"sizeUnknown"`
	Failed      []Failure `json:"failed"`
	// Incomplete is set when the deadline came before every write was
	// tried; Cursor is the last alarm name tried, to resume after, and
	// Left counts the writes not tried.
	Incomplete bool   `json:"incomplete,omitempty"`
	Cursor     string `json:"cursor,omitempty"`
	Left       int    `json:"left,omitempty"`
	// Continued is set when a continuation was queued for the rest.
	Continued bool `json:"continued,omitempty"`
	// Writes counts the write calls this run made (PutMetricAlarm and
	// DeleteAlarms), failed ones included.
	Writes int    `json:"writes"`
	Note   string `json:"note,omitempty"`
}

// Progressed reports whether the run's cursor moved strictly forward from
// the one it started after (from; "" for a first pass). A chain continues
// only while it does, so it always ends: a run whose writes were all cut
// by the deadline, or that spent its time reading, hands on no cursor.
func (r Result) Progressed(from string) bool { return r.Cursor != "" && r.Cursor > from }

// Reconciler keeps the suite's disk alarms in step with the fleet.
type Reconciler struct {
	EC2        ec2API
	CloudWatch cloudWatchAPI
	// Namespace is the CloudWatch agent's namespace (CWAgent by default).
	Namespace string
	// Alarms shapes every alarm; its TopicARN is each request's.
	Alarms AlarmSettings
	// RecentOnly lists only series with data in the last three hours
	// (ListMetrics RecentlyActive=PT3H), so that a detached disk's or a
	// resized instance's old series stop counting within hours, not weeks.
	RecentOnly bool
	// Limiter paces the writes (PutMetricAlarm and DeleteAlarms calls
	// alike); nil means no pacing.
	Limiter pacer
	// DeadlineMargin, when set, is kept free before the context's
	// deadline; zero means the margin that scales with the time given
	// (deadline.Margin: a fifth of it, at most 30 s).
	DeadlineMargin time.Duration
	Now            func() time.Time
	Log            *slog.Logger
}

// Reconcile runs one pass: it reads the instances, the suite's alarms and
// the disks' metrics, plans the difference, and writes it. A read error is
// returned before anything is written (a retry can help); write failures
// are reported in the result and the next run tries them again.
func (r *Reconciler) Reconcile(ctx context.Context, req Request) (Result, error) {
	res := Result{Trigger: req.Trigger, Scope: "fleet", Selection: req.Selector.String(),
		Skipped: []Skip{}, SizeUnknown: []Skip{}, Failed: []Failure{}}
	if req.InstanceID != "" {
		res.Scope = "instance " + req.InstanceID
	}
	if err := req.Validate(); err != nil {
		return res, err
	}
	if req.Selector.Empty() {
		res.Note = "no instance name pattern or opt-in tag is configured, so no instance is selected; only alarms of instances that are gone are deleted"
	}
	log := r.logger().With("trigger", req.Trigger, "scope", res.Scope)

	// Reads and writes run on the budget; the margin it keeps is for the
	// last batch of deletes, the hand-over and the answer.
	work, stop, margin := deadline.BudgetKeeping(ctx, r.DeadlineMargin)
	defer stop()
	outOfTime := func(err error) error {
		if work.Err() == nil || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %w: the reads did not finish before the deadline less the %s kept to finish; raise the function's timeout or select fewer instances", ErrOutOfTime, err, margin.Round(time.Millisecond))
	}

	live, err := r.instances(work, req.InstanceID)
	if err != nil {
		return res, outOfTime(err)
	}
	selected := map[string]bool{}
	for id, inst := range live {
		if req.Selector.Selects(inst) {
			selected[id] = true
		}
	}
	res.Instances = len(selected)

	have, err := r.existing(work, req.InstanceID)
	if err != nil {
		return res, outOfTime(err)
	}

	var want []Alarm
	reporting := map[string]bool{}
	if len(selected) > 0 {
		metrics, err := r.listMetrics(work, req.InstanceID)
		if err != nil {
			return res, outOfTime(err)
		}
		listed, skips := groupDisks(metrics, func(id string) bool { return selected[id] })
		data, err := r.datapoints(work, listed)
		if err != nil {
			return res, outOfTime(err)
		}
		settings := r.Alarms
		settings.TopicARN = req.TopicARN
		for _, l := range listed {
			d := resolve(l, data)
			if d.OS == OSWindows && !d.SizeKnown {
				log.InfoContext(ctx, "disk size unknown; using the thresholds for the smallest disks",
					"instanceId", d.InstanceID, "disk", d.Label, "reason", d.SizeReason)
				res.SizeUnknown = appendCapped(res.SizeUnknown, Skip{InstanceID: d.InstanceID, Disk: d.Label, Reason: d.SizeReason})
			}
			want = append(want, settings.Alarms(d, live[d.InstanceID].Name)...)
			reporting[d.InstanceID] = true
			res.Disks++
		}
		for _, s := range skips {
			res.Skipped = appendCapped(res.Skipped, s)
		}
		res.SkippedTotal = len(skips)
		if len(skips) > 0 {
			// One line for them all: a fleet of Windows instances has a
			// _Total series each, and one line apiece would flood the log.
			log.InfoContext(ctx, "series skipped", "total", len(skips), "byReason", groupSkips(skips))
		}
	}

	plan := PlanChanges(PlanInput{Want: want, Have: have, Live: live, Selected: selected, Reporting: reporting})
	res.Unchanged = plan.Unchanged
	res.Kept = len(plan.Kept)
	for _, k := range plan.Kept {
		log.DebugContext(ctx, "alarm kept", "alarmName", k.Name, "reason", k.Reason)
	}
	r.apply(ctx, work, margin, log, plan, req.Cursor, &res)
	return res, nil
}

// apply writes the plan in name order, paced, on work (which ends margin
// before ctx's deadline). Deletes go out in batches of up to 100 names.
//
// The cursor it reports covers only steps that were tried, and a delete is
// tried only when its batch is sent; so when the deadline stops the run,
// the deletes it has gathered are still sent, in the first half of the
// margin, or else the cursor could not move past them and the puts tried
// after them would count for nothing.
func (r *Reconciler) apply(ctx, work context.Context, margin time.Duration, log *slog.Logger, plan Plan, cursor string, res *Result) {
	steps := plan.steps(cursor)
	// Every write, the SDK's retries included, ends before work's deadline.
	b := deleteBatcher{size: deleteBatch, send: func(ctx context.Context, dels []Delete) bool {
		return r.deleteAlarms(ctx, log, dels, res)
	}}
	for i, s := range steps {
		if s.del != nil {
			if !b.queue(work, i, *s.del) {
				break
			}
			continue
		}
		if !r.pace(work) || !r.put(work, log, *s.put, res) {
			break
		}
		b.tried(i)
	}
	// Only the last batch of deletes may use the first half of the margin;
	// the rest of it queues the continuation and answers.
	if !b.flush(work) {
		last, cancel := lastBatchContext(ctx, margin)
		b.flush(last)
		cancel()
	}
	if b.done < len(steps) {
		res.Incomplete = true
		res.Left = len(steps) - b.done
		res.Cursor = cursor
		if b.done > 0 {
			res.Cursor = steps[b.done-1].name
		}
		log.WarnContext(ctx, "stopping before the deadline", "left", res.Left, "cursor", res.Cursor)
	}
}

// lastBatchContext ends half the margin before ctx's deadline: the time
// the last batch of deletes may take.
func lastBatchContext(ctx context.Context, margin time.Duration) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-margin/2))
	}
	return context.WithCancel(ctx)
}

// deleteAlarms sends one DeleteAlarms batch, paced. false: the deadline
// came first and the batch still waits. A batch CloudWatch refuses is
// recorded as failed, and counts as sent.
func (r *Reconciler) deleteAlarms(ctx context.Context, log *slog.Logger, dels []Delete, res *Result) bool {
	if !r.pace(ctx) {
		return false
	}
	names := make([]string, len(dels))
	for i, d := range dels {
		names[i] = d.Name
	}
	res.Writes++
	_, err := r.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: names})
	switch {
	case err != nil && ctx.Err() != nil:
		log.WarnContext(ctx, "delete cut by the deadline", "alarmNames", names, "error", err.Error())
		return false
	case err != nil:
		log.WarnContext(ctx, "delete failed", "alarmNames", names, "error", err.Error())
		for _, n := range names {
			res.Failed = append(res.Failed, Failure{Alarm: n, Error: err.Error()})
		}
	default:
		for _, d := range dels {
			log.InfoContext(ctx, "alarm deleted", "alarmName", d.Name, "instanceId", d.InstanceID, "reason", d.Reason)
		}
		res.Deleted += len(names)
	}
	return true
}

func (r *Reconciler) put(ctx context.Context, log *slog.Logger, p Put, res *Result) bool {
	a := p.Alarm
	in := &cloudwatch.PutMetricAlarmInput{
		AlarmName:          aws.String(a.Name),
		AlarmDescription:   aws.String(a.Description),
		Namespace:          aws.String(a.Namespace),
		MetricName:         aws.String(a.MetricName),
		Dimensions:         toCloudWatch(a.Dimensions),
		Statistic:          cwtypes.Statistic(a.Statistic),
		ComparisonOperator: cwtypes.ComparisonOperator(a.Comparison),
		Threshold:          aws.Float64(a.Threshold),
		Period:             aws.Int32(a.Period),
		EvaluationPeriods:  aws.Int32(a.EvaluationPeriods),
		DatapointsToAlarm:  aws.Int32(a.DatapointsToAlarm),
		TreatMissingData:   aws.String(a.TreatMissingData),
		ActionsEnabled:     aws.Bool(a.ActionsEnabled),
		AlarmActions:       a.AlarmActions,
		OKActions:          a.OKActions,
	}
	if p.Create {
		for _, t := range OwnerTags {
			in.Tags = append(in.Tags, cwtypes.Tag{Key: aws.String(t.Name), Value: aws.String(t.Value)})
		}
	}
	res.Writes++
	_, err := r.CloudWatch.PutMetricAlarm(ctx, in)
	switch {
	case err != nil && ctx.Err() != nil:
		log.WarnContext(ctx, "alarm write cut by the deadline", "alarmName", a.Name, "instanceId", a.InstanceID, "error", err.Error())
		return false
	case err != nil:
		log.WarnContext(ctx, "alarm not written", "alarmName", a.Name, "instanceId", a.InstanceID, "error", err.Error())
		res.Failed = append(res.Failed, Failure{Alarm: a.Name, Error: err.Error()})
	case p.Create:
		log.InfoContext(ctx, "alarm created", "alarmName", a.Name, "instanceId", a.InstanceID, "disk", a.Disk, "threshold", a.Threshold)
		res.Created++
	default:
		log.InfoContext(ctx, "alarm updated", "alarmName", a.Name, "instanceId", a.InstanceID, "disk", a.Disk, "changes", p.Changes)
		res.Updated++
	}
	return true
}

func (r *Reconciler) pace(ctx context.Context) bool {
	if r.Limiter != nil {
		return r.Limiter.Wait(ctx) == nil
	}
	return ctx.Err() == nil
}

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
				out[inst.ID] = inst
			}
		}
	}
	return out, nil
}

// existing returns the suite's alarms: every alarm under the prefix, or
// under the instance's prefix.
func (r *Reconciler) existing(ctx context.Context, instanceID string) ([]Alarm, error) {
	prefix := r.Alarms.Prefix
	if instanceID != "" {
		prefix = InstancePrefix(prefix, instanceID)
	}
	var out []Alarm
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
// disks needs, up to 500 series a GetMetricData call.
func (r *Reconciler) datapoints(ctx context.Context, disks []listedDisk) (Datapoints, error) {
	var series []Metric
	seen := map[string]bool{}
	for _, d := range disks {
		for _, m := range d.needsDatapoints() {
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
	}
	switch {
	case len(a.Metrics) > 0:
		out.Statistic = "metric math"
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

func toCloudWatch(dims []Dimension) []cwtypes.Dimension {
	out := make([]cwtypes.Dimension, len(dims))
	for i, d := range dims {
		out[i] = cwtypes.Dimension{Name: aws.String(d.Name), Value: aws.String(d.Value)}
	}
	return out
}

// skipGroup is the skipped series of one reason, as the log shows them.
type skipGroup struct {
	Reason string   `json:"reason"`
	Count  int      `json:"count"`
	Disks  []string `json:"disks"` // "<instance ID> <disk>", up to 100
}

// groupSkips groups skips (sorted by instance and disk) by reason, in order
// of first appearance.
func groupSkips(skips []Skip) []skipGroup {
	var out []skipGroup
	index := map[string]int{}
	for _, s := range skips {
		i, ok := index[s.Reason]
		if !ok {
			i = len(out)
			index[s.Reason] = i
			out = append(out, skipGroup{Reason: s.Reason, Disks: []string{}})
		}
		g := &out[i]
		g.Count++
		if len(g.Disks) < maxListed {
			g.Disks = append(g.Disks, strings.TrimSpace(s.InstanceID+" "+s.Disk))
		}
	}
	return out
}

func appendCapped(list []Skip, s Skip) []Skip {
	if len(list) >= maxListed {
		return list
	}
	return append(list, s)
}

func (r *Reconciler) now() time.Time { return clock.Now(r.Now) }

func (r *Reconciler) logger() *slog.Logger { return cmp.Or(r.Log, slog.Default()) }
