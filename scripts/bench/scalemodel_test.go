package main

import (
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
)

// The targets hold from 20,000 instances: a day over 10 % of a quota, or
// a run over 1 % of the series, fails the report; a smaller fleet is not
// held to them.
func TestModelTargets(t *testing.T) {
	day := 86400.0
	ok := modelRow{Instances: 20000, Series: 90000, DayCalls: diskalarm.Calls{"DescribeAlarms": int(0.05 * 9 * day)}, DayMetrics: 60000}
	tests := []struct {
		name string
		row  modelRow
		want string // in the failure, or "" for none
	}{
		{"within the targets", ok, ""},
		{"a quota over 10 %", modelRow{Instances: 20000, Series: 90000, DayCalls: diskalarm.Calls{"ListMetrics": int(0.11 * 25 * day)}}, "of the ListMetrics quota"},
		{"the series over 1 % a run", modelRow{Instances: 20000, Series: 90000, DayMetrics: 96 * 1000}, "of the disks' series"},
		{"a write on an unchanged day", modelRow{Instances: 20000, Series: 90000, DayWrites: 1}, "1 writes"},
		{"a small fleet is not held to them", modelRow{Instances: 1000, Series: 4500, DayMetrics: 96 * 4500}, ""},
		{"a model that failed", modelRow{Instances: 1000, Err: "first creation: boom"}, "boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(tt.row.failures(), "; ")
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("failures() = %q, want %q", got, tt.want)
			}
		})
	}
}

// A small fleet through the whole model: every alarm made, an unchanged
// day without writes or throttling, and the burst alarmed within an hour.
func TestModelSmallFleet(t *testing.T) {
	r := runModel(600, 50)
	if r.Err != "" {
		t.Fatal(r.Err)
	}
	if r.FirstCalls["PutMetricAlarm"] != 3600 || r.DayWrites != 0 || r.DayThrottle != 0 {
		t.Errorf("model = %d puts on creation, %d writes and %d throttles on the unchanged day; want 3600, 0, 0", r.FirstCalls["PutMetricAlarm"], r.DayWrites, r.DayThrottle)
	}
	if r.BurstMinutes <= 0 || r.BurstMinutes > 60 {
		t.Errorf("burst of 50 alarmed after %.0f minutes, want within an hour", r.BurstMinutes)
	}
}
