package diskalarm

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Foresight (FILL_WITHIN): a disk's Warning alarm also fires when, at its
// current rate, the disk will be full within FILL_WITHIN. It is the same
// alarm, written with CloudWatch metric math, so there is no extra alarm
// per disk. Over one-hour periods:
//
//	fp = the free space in percent: the period's Minimum of % free
//	     (Windows), or 100 − the Maximum of % used (Linux)
//	fa = the period's Average of the same, for the rate
//	r  = RATE(fa): percent a second, between the last two hourly averages
//	h  = IF(r < 0, fp / (0 − r) / 3600, 1000000): hours until full
//	e  = (fp < warning) OR ((fp < 40) AND (h < FILL_WITHIN in hours))
//
// and the alarm fires when e ≥ 1 in 2 of 3 hours. The fixed threshold is
// OR-ed in, so the alarm still fires at the Warning percentage. Against
// noise, as the node-exporter mixin's NodeFilesystemSpaceFillingUp guards
// its predict_linear (it warns at 24 h only below 40 % available, and only
// for an hour), the prediction counts only when the disk is also under
// fillGuardFreePercent free, and only in 2 of 3 hours.
//
// The functions are CloudWatch's: RATE, IF, the comparison operators and
// AND/OR (Metric math syntax and functions,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html);
// a PutMetricAlarm takes up to 10 MetricStat and 10 Expression queries, the
// one the alarm watches with ReturnData (PutMetricAlarm, Metrics).
//
// Limits: the rate is a two-point rate between hourly averages, not a least
// squares fit over hours as predict_linear is; a fill slower than the
// hour's noise is seen late, and one faster than the hour is seen an hour
// late. The Warning alarm then evaluates hourly periods (2 of 3), so its
// fixed threshold warns up to two hours later than the 10 minutes of the
// alarm without foresight; the Critical alarm is unchanged. CloudWatch
// bills a metric-math alarm per metric it references: two here, so a
// Warning alarm with foresight costs twice one without.

// FILL_WITHIN's bounds: an hour (the rate's period) to 30 days.
const (
	MinFillWithin = time.Hour
	MaxFillWithin = 30 * 24 * time.Hour
)

// ValidateFillWithin checks a FILL_WITHIN value.
func ValidateFillWithin(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < MinFillWithin || d > MaxFillWithin {
		return badInput("FILL_WITHIN %q: want a Go duration from %s to %s, such as 24h", s, MinFillWithin, MaxFillWithin)
	}
	return nil
}

// fillGuardFreePercent: the prediction counts only below this much free.
const fillGuardFreePercent = 40

// The foresight alarm's evaluation: hourly periods, 2 of 3.
const (
	fillPeriod            = 3600
	fillEvaluationPeriods = 3
	fillDatapointsToAlarm = 2
	// noFill is the hours to full of a disk that is not filling.
	noFill = 1000000
)

// Query is one item of a metric-math alarm's Metrics: a metric's statistic
// over a period, or an expression over other items.
type Query struct {
	ID         string
	Expression string
	Metric     *Metric
	Stat       string
	Period     int32
	ReturnData bool
}

func (q Query) String() string {
	if q.Metric != nil {
		return fmt.Sprintf("%s=%s %s/%ds return=%t", q.ID, q.Metric.Key(), q.Stat, q.Period, q.ReturnData)
	}
	return fmt.Sprintf("%s=%s return=%t", q.ID, q.Expression, q.ReturnData)
}

// hours formats a duration in hours for an expression.
func hours(d time.Duration) string { return strconv.FormatFloat(d.Hours(), 'g', -1, 64) }

// fillQueries are the Warning alarm's Metrics for disk d with the given
// warning threshold in percent free.
func fillQueries(d Disk, warningFree float64, within time.Duration) []Query {
	m := d.Metric
	var qs []Query
	if d.OS == OSWindows {
		qs = []Query{
			{ID: "fp", Metric: &m, Stat: "Minimum", Period: fillPeriod},
			{ID: "fa", Metric: &m, Stat: "Average", Period: fillPeriod},
		}
	} else {
		qs = []Query{
			{ID: "um", Metric: &m, Stat: "Maximum", Period: fillPeriod},
			{ID: "ua", Metric: &m, Stat: "Average", Period: fillPeriod},
			{ID: "fp", Expression: "100 - um"},
			{ID: "fa", Expression: "100 - ua"},
		}
	}
	return append(qs,
		Query{ID: "r", Expression: "RATE(fa)"},
		Query{ID: "h", Expression: "IF(r < 0, fp / (0 - r) / 3600, " + strconv.Itoa(noFill) + ")"},
		Query{ID: "e", ReturnData: true, Expression: fmt.Sprintf("(fp < %s) OR ((fp < %d) AND (h < %s))",
			strconv.FormatFloat(warningFree, 'g', -1, 64), fillGuardFreePercent, hours(within))},
	)
}

// withForesight makes a the foresight Warning alarm of disk d.
func withForesight(a Alarm, d Disk, warningFree float64, within time.Duration) Alarm {
	a.Metrics = fillQueries(d, warningFree, within)
	a.Namespace, a.MetricName, a.Dimensions, a.Statistic, a.Period = "", "", nil, mathStatistic, 0
	a.Comparison, a.Threshold = "GreaterThanOrEqualToThreshold", 1
	a.EvaluationPeriods, a.DatapointsToAlarm = fillEvaluationPeriods, fillDatapointsToAlarm
	return a
}

// mathStatistic is an alarm's Statistic when it watches metric math.
const mathStatistic = "metric math"

// foresightText is what the description adds.
func foresightText(within time.Duration) string {
	return fmt.Sprintf(" It also fires when the disk is under %d %% free and, at the last hour's rate, full within %s (2 of 3 hours).",
		fillGuardFreePercent, strings.TrimSuffix(strings.TrimSuffix(within.String(), "0s"), "0m"))
}

// HourPoint is one hour of a disk's free space in percent: the hour's
// lowest (fp) and its average (fa).
type HourPoint struct {
	Lowest, Average float64
}

// WarningSignal evaluates the foresight alarm's expression e on hourly
// points, as CloudWatch evaluates it (a missing rate, at the first point,
// counts as 0): one value a point, true for 1. It is the formula's
// reference, for the tests and for the local run, where moto does not
// evaluate metric math.
func WarningSignal(pts []HourPoint, warningFree float64, within time.Duration) []bool {
	out := make([]bool, len(pts))
	for i, p := range pts {
		r := 0.0
		if i > 0 {
			r = (p.Average - pts[i-1].Average) / fillPeriod
		}
		h := float64(noFill)
		if r < 0 {
			h = p.Lowest / -r / 3600
		}
		out[i] = p.Lowest < warningFree || (p.Lowest < fillGuardFreePercent && h < within.Hours())
	}
	return out
}

// Alarming reports whether the alarm's last evaluation fires: e in at
// least 2 of the last 3 hours.
func Alarming(signal []bool) bool {
	n := 0
	for _, s := range signal[max(len(signal)-fillEvaluationPeriods, 0):] {
		if s {
			n++
		}
	}
	return n >= fillDatapointsToAlarm
}

// Hourly groups free-space samples in percent, oldest first, by the hour,
// into HourPoints.
func Hourly(samples []Point) []HourPoint {
	var out []HourPoint
	var sum float64
	var n int
	var hour time.Time
	flush := func() {
		if n > 0 {
			out[len(out)-1].Average = sum / float64(n)
		}
	}
	for _, s := range samples {
		if h := s.Time.Truncate(time.Hour); n == 0 || !h.Equal(hour) {
			flush()
			hour, sum, n = h, 0, 0
			out = append(out, HourPoint{Lowest: s.Value})
		}
		p := &out[len(out)-1]
		p.Lowest = min(p.Lowest, s.Value)
		sum += s.Value
		n++
	}
	flush()
	return out
}
