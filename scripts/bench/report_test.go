package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const benchOutput = `goos: linux
pkg: github.com/ebs-ops/lambda-suite/shared/rootvolume
BenchmarkCleanup/resources=100/first-run-2     	       1	4534096870 ns/op	        70.00 delete-calls/op	        70.00 deleted/op	         4.000 describe-calls/op	        70.00 writes/op
BenchmarkCleanup/resources=100/rerun-2         	       1	1897006521 ns/op	         0 delete-calls/op	         4.000 describe-calls/op	         0 writes/op
BenchmarkReconcile/resources=1000/rerun-2      	       1	25802068935 ns/op	         0 DeleteAlarms/op	         1.000 DescribeAlarms/op	         1.000 DescribeInstances/op	         1.000 GetMetricData/op	         5.000 ListMetrics/op	         0 PutMetricAlarm/op	       996.0 alarms	         0 writes/op
BenchmarkOther-2                               	      10	100 ns/op
PASS
`

func TestParseBench(t *testing.T) {
	got, err := parseBench(strings.NewReader(benchOutput))
	if err != nil {
		t.Fatal(err)
	}
	want := []scaleRow{
		{Workload: "cleanup", Size: 100, Run: "first-run", Time: 4534096870, Reads: 4, Writes: 70},
		{Workload: "cleanup", Size: 100, Run: "rerun", Time: 1897006521, Reads: 4, Writes: 0},
		{Workload: "reconcile", Size: 1000, Run: "rerun", Time: 25802068935, Reads: 8, Writes: 0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseBench() mismatch (-want +got):\n%s", diff)
	}
}

func TestMarkdown(t *testing.T) {
	r := report{
		When: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC), GoVersion: "go1.26.8", Runs: 3,
		Functions: []functionResult{
			{
				Name: "fast", Bootstrap: 10_300_000, Zipped: 3_800_000,
				First: []time.Duration{90 * time.Millisecond, 30 * time.Millisecond, 40 * time.Millisecond}, FirstOwn: []time.Duration{20 * time.Millisecond, 10 * time.Millisecond, 12 * time.Millisecond},
				Warm: []time.Duration{3 * time.Millisecond}, WarmOwn: []time.Duration{time.Millisecond}, PeakRSSKiB: 11264,
				Events: []eventCalls{{Event: "a.json", Outcome: "ok", Calls: map[string]int{"EC2.DescribeVolumes": 2, "EC2.CreateSnapshot": 1}}},
			},
			{Name: "big", Bootstrap: 41_000_000, Zipped: 9_300_000, Err: "setup: no | pipe\nhere"},
		},
		Scale: []scaleRow{
			{Workload: "cleanup", Size: 1000, Run: "first-run", Time: 33 * time.Second, Reads: 4, Writes: 700},
			{Workload: "cleanup", Size: 1000, Run: "rerun", Time: 17 * time.Second, Reads: 4, Writes: 0},
			{Workload: "reconcile", Size: 100, Run: "rerun", Time: time.Second, Reads: 100, Writes: 2},
		},
		Notes: []string{"a note"},
	}
	var b strings.Builder
	if err := r.markdown(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| fast | 10.3 MB | 3.8 MB | 40.0 ms | 12.0 ms | 3.0 ms | 1.0 ms | 11.0 MiB | pass | pass |",
		`| big | 41.0 MB | 9.3 MB | not measured: setup: no \| pipe here | | | | | **FAIL** | pass |`,
		"| fast | a.json | ok | 3 | EC2.CreateSnapshot 1, EC2.DescribeVolumes 2 |",
		"| cleanup | 1000 | first-run | 33s | 4 | 700 | pass |  |",
		"| cleanup | 1000 | rerun | 17s | 4 | 0 | pass | pass |",
		"| reconcile | 100 | rerun | 1s | 100 | 2 | **FAIL** | **FAIL** |",
		"- a note",
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("report lacks line %q; report:\n%s", want, out)
		}
	}
	wantFailures := []string{"big: not measured", "reconcile 100 rerun: 100 reads", "reconcile 100 re-run: 2 writes"}
	if diff := cmp.Diff(wantFailures, r.failures()); diff != "" {
		t.Errorf("failures() mismatch (-want +got):\n%s", diff)
	}
}

func TestMedian(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []time.Duration
		want time.Duration
	}{
		{"none", nil, 0},
		{"odd", []time.Duration{5, 1, 3}, 3},
		{"even", []time.Duration{4, 1, 3, 2}, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestOperation(t *testing.T) {
	auth := func(service string) string {
		return "AWS4-HMAC-SHA256 Credential=testing/20261129/us-east-1/" + service + "/aws4_request, SignedHeaders=host, Signature=x"
	}
	for _, tt := range []struct {
		name, method, path, target, service, body, want string
	}{
		{"query protocol", http.MethodPost, "/", "", "ec2", "Action=DescribeVolumes&Version=2016-11-15", "EC2.DescribeVolumes"},
		{"JSON protocol", http.MethodPost, "/", "DynamoDB_20120810.GetItem", "dynamodb", "{}", "DynamoDB.GetItem"},
		{"RPC v2", http.MethodPost, "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm", "", "monitoring", "", "CloudWatch.PutMetricAlarm"},
		{"REST create", http.MethodPost, "/schedules/recheck-1", "", "scheduler", "{}", "Scheduler.CreateSchedule"},
		{"REST list", http.MethodGet, "/schedules", "", "scheduler", "", "Scheduler.ListSchedules"},
		{"REST operation path", http.MethodGet, "/GetImage", "", "imagebuilder", "", "ImageBuilder.GetImage"},
		{"REST operation path, POST", http.MethodPost, "/ListWorkflowStepExecutions", "", "imagebuilder", "{}", "ImageBuilder.ListWorkflowStepExecutions"},
		{"unsigned", http.MethodPost, "/", "", "", "Action=Publish", "?.Publish"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.service != "" {
				r.Header.Set("Authorization", auth(tt.service))
			}
			if tt.target != "" {
				r.Header.Set("X-Amz-Target", tt.target)
			}
			if got := operation(r, []byte(tt.body)); got != tt.want {
				t.Errorf("operation(%s %s) = %q, want %q", tt.method, tt.path, got, tt.want)
			}
		})
	}
}
