package diskalarm

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// freeSamples returns 5-minute free-space samples over d from free(t), t the
// time since the start.
func freeSamples(d time.Duration, free func(t time.Duration) float64) []Point {
	var out []Point
	for t := time.Duration(0); t < d; t += 5 * time.Minute {
		out = append(out, Point{Time: t0.Add(t), Value: free(t)})
	}
	return out
}

func TestForesightFormula(t *testing.T) {
	// A 1 TiB Windows disk: Warning below 15 % free.
	const warning = 15
	steady := freeSamples(4*time.Hour, func(t time.Duration) float64 { return 35 - 3.5*t.Hours() }) // 35 % free, full in 10 h
	sawTooth := freeSamples(12*time.Hour, func(t time.Duration) float64 {                           // logs fill, rotate on the hour
		return 38 - 7*(t.Hours()-float64(int(t.Hours())))
	})
	static := freeSamples(12*time.Hour, func(time.Duration) float64 { return 35 })
	full := freeSamples(3*time.Hour, func(time.Duration) float64 { return 10 })
	tests := []struct {
		name   string
		series []Point
		within time.Duration
		want   bool
	}{
		{"a steady fill reaching 0 in 10 h fires at FILL_WITHIN=24h", steady, 24 * time.Hour, true},
		{"and not at 6h", steady, 6 * time.Hour, false},
		{"a log-rotation saw-tooth does not fire", sawTooth, 24 * time.Hour, false},
		{"a static disk never fires", static, 24 * time.Hour, false},
		{"the fixed threshold is OR-ed in", full, 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Alarming(WarningSignal(Hourly(tt.series), warning, tt.within)); got != tt.want {
				t.Errorf("Alarming(%s) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
	// The fill fires before the disk crosses its Warning percentage: at
	// hour 3 it is still 24.5 % free.
	if low := Hourly(steady)[3].Lowest; low <= warning {
		t.Errorf("the steady fill is %g %% free at hour 3, want above the %d %% Warning", low, warning)
	}
}

func TestHourly(t *testing.T) {
	got := Hourly(freeSamples(2*time.Hour, func(t time.Duration) float64 { return 50 - t.Minutes()/5 }))
	// 12 samples an hour: 50 … 39, then 38 … 27.
	want := []HourPoint{{Lowest: 39, Average: 44.5}, {Lowest: 27, Average: 32.5}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Hourly = %+v, want %+v", got, want)
	}
}

func TestForesightAlarmCarriesTheExpression(t *testing.T) {
	f := newCloudFleet()
	f.rec.Alarms.FillWithin = 24 * time.Hour
	id := instanceID(3)
	f.cloud.Launch(id, "win-fill")
	f.cloud.Windows(id, "C:", func(time.Time) float64 { return 100 }, func(time.Time) float64 { return 40 })
	if res := f.schedule(t); res.Created != 2 {
		t.Fatalf("created %d, want 2", res.Created)
	}
	a, _, ok := f.cloud.Alarm(AlarmName(DefaultPrefix, id, "C:", Warning))
	if !ok {
		t.Fatal("no Warning alarm")
	}
	var expr string
	for _, q := range a.Metrics {
		if aws.ToBool(q.ReturnData) {
			expr = aws.ToString(q.Expression)
		}
	}
	if expr != "(fp < 30) OR ((fp < 40) AND (h < 24))" || a.MetricName != nil || aws.ToInt32(a.EvaluationPeriods) != 3 || aws.ToInt32(a.DatapointsToAlarm) != 2 {
		t.Errorf("Warning alarm watches %q (metric %v, %d of %d), want the foresight expression, 2 of 3", expr, aws.ToString(a.MetricName), aws.ToInt32(a.DatapointsToAlarm), aws.ToInt32(a.EvaluationPeriods))
	}
	if c, _, _ := f.cloud.Alarm(AlarmName(DefaultPrefix, id, "C:", Critical)); len(c.Metrics) != 0 || aws.ToString(c.MetricName) == "" {
		t.Errorf("Critical alarm has %d metric queries, want none: it is unchanged", len(c.Metrics))
	}
	if !strings.Contains(aws.ToString(a.AlarmDescription), "full within 24h") {
		t.Errorf("description %q does not say what the foresight does", aws.ToString(a.AlarmDescription))
	}
	f.cloud.ResetCounts()
	f.clock.Advance(15 * time.Minute)
	if res := f.schedule(t); res.Writes != 0 || f.cloud.Metrics != 0 {
		t.Errorf("second run: %d writes, %d series read; want none: the foresight alarm reads back as written", res.Writes, f.cloud.Metrics)
	}
}
