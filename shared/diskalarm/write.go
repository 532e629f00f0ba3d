package diskalarm

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// The writes of a pass: the plan carried out in name order, paced, on
// the budget; deletes in DeleteAlarms batches.

// deleteBatch is the most names a DeleteAlarms call takes.
const deleteBatch = 100

// writer writes a pass's plans in name order, chunk by chunk, paced, on
// the budget. Deletes go out in batches of up to 100 names, and a chunk's
// last batch at its end.
//
// The cursor it reports covers only steps that were tried, and a delete is
// tried only when its batch is sent; so when the deadline stops the run,
// the deletes it has gathered are still sent, in the first half of the
// margin, or else the cursor could not move past them and the puts tried
// after them would count for nothing. Once every write of a chunk is
// tried, the cursor may pass the whole chunk (chunkEnd), so that a
// continuation does not read it again.
type writer struct {
	r     *Reconciler
	log   *slog.Logger
	res   *Result
	from  string // the cursor the pass started after
	b     deleteBatcher
	steps []step
	floor string // the end of the last chunk whose writes were all tried
	cut   bool   // the deadline came
}

func (r *Reconciler) newWriter(log *slog.Logger, cursor string, res *Result) *writer {
	w := &writer{r: r, log: log, res: res, from: cursor}
	w.b = deleteBatcher{size: deleteBatch, send: func(ctx context.Context, dels []Delete) bool {
		return r.deleteAlarms(ctx, log, dels, res)
	}}
	return w
}

// write tries plan's steps after the cursor, in name order, on work (which
// ends margin before the deadline). false: the deadline came.
func (w *writer) write(work context.Context, plan Plan) bool {
	start := len(w.steps)
	w.steps = append(w.steps, plan.steps(w.from)...)
	for i := start; i < len(w.steps); i++ {
		s := w.steps[i]
		if s.del != nil {
			if !w.b.queue(work, i, *s.del) {
				w.cut = true
				return false
			}
			continue
		}
		if !w.r.pace(work) || !w.r.put(work, w.log, *s.put, w.res) {
			w.cut = true
			return false
		}
		w.b.tried(i)
	}
	return true
}

// endChunk sends the chunk's waiting deletes; then the cursor may pass the
// chunk. false: the deadline came first.
func (w *writer) endChunk(work context.Context, chunk string) bool {
	if !w.b.flush(work) {
		w.cut = true
		return false
	}
	w.floor = chunkEnd(chunk)
	return true
}

// progressed reports whether the pass got past anything yet.
func (w *writer) progressed() bool { return w.b.done > 0 || w.floor != "" }

// finish sends the deletes still waiting (only the last batch may use the
// first half of the margin; the rest of it queues the continuation and
// answers), and reports how far the pass got.
func (w *writer) finish(ctx, work context.Context, margin time.Duration) {
	if !w.b.flush(work) {
		last, cancel := lastBatchContext(ctx, margin)
		w.b.flush(last)
		cancel()
	}
	res := w.res
	if !w.cut && w.b.done == len(w.steps) {
		return
	}
	res.Incomplete = true
	res.Left = len(w.steps) - w.b.done
	res.Cursor = w.from
	if w.b.done > 0 {
		res.Cursor = w.steps[w.b.done-1].name
	}
	res.Cursor = max(res.Cursor, w.floor)
	w.log.WarnContext(ctx, "stopping before the deadline", "left", res.Left, "cursor", res.Cursor)
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
	if len(a.Metrics) > 0 {
		in.Namespace, in.MetricName, in.Dimensions, in.Statistic, in.Period = nil, nil, nil, "", nil
		in.Metrics = toCloudWatchQueries(a.Metrics)
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

func toCloudWatchQueries(qs []Query) []cwtypes.MetricDataQuery {
	out := make([]cwtypes.MetricDataQuery, len(qs))
	for i, q := range qs {
		out[i] = cwtypes.MetricDataQuery{Id: aws.String(q.ID), ReturnData: aws.Bool(q.ReturnData)}
		if q.Metric != nil {
			out[i].MetricStat = &cwtypes.MetricStat{Stat: aws.String(q.Stat), Period: aws.Int32(q.Period),
				Metric: &cwtypes.Metric{Namespace: aws.String(q.Metric.Namespace), MetricName: aws.String(q.Metric.Name), Dimensions: toCloudWatch(q.Metric.Dimensions)}}
		} else {
			out[i].Expression = aws.String(q.Expression)
		}
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
