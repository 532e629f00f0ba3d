package diskalarm

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
)

// BenchmarkReconcile reconciles fleets of about n alarms for each n in
// BENCH_SIZES (default 100, 1,000 and 5,000): n/12 Windows instances (C:
// 100 GiB, D: 1 TiB, E: full) and n/12 Linux ones (/, /data, /var/log),
// each disk with a Warning and a Critical alarm. "first-run" starts with
// no alarms, "unchanged" with all of them in place and must write nothing.
// Writes are not paced: at the default 3 a second, a first run in AWS takes
// writes/3 seconds on top. scripts/bench reads these metrics into its report.
func BenchmarkReconcile(b *testing.B) {
	for _, size := range awstest.BenchSizes(b) {
		a := newAccount(b)
		perOS := max(1, size/12)
		alarms := perOS * 12
		seedBenchFleet(b, a, perOS)
		req := Request{Trigger: TriggerSchedule, Selector: Selector{NamePattern: "bench-*"}, TopicARN: testTopic}

		b.Run(fmt.Sprintf("resources=%d/first-run", size), func(b *testing.B) {
			a.calls.Reset()
			for range b.N {
				b.StopTimer()
				deleteAll(b, a.cw)
				b.StartTimer()
				res, err := a.rec.Reconcile(context.Background(), req)
				if err != nil || res.Created != alarms {
					b.Fatalf("first run = %+v, %v, want %d created", res, err, alarms)
				}
			}
			reportCalls(b, a.calls)
			b.ReportMetric(float64(alarms), "alarms")
		})
		b.Run(fmt.Sprintf("resources=%d/rerun", size), func(b *testing.B) {
			if _, err := a.rec.Reconcile(context.Background(), req); err != nil {
				b.Fatal(err)
			}
			a.calls.Reset()
			for b.Loop() {
				res, err := a.rec.Reconcile(context.Background(), req)
				if err != nil || res.Unchanged != alarms || res.Writes != 0 {
					b.Fatalf("re-run = %+v, %v, want %d unchanged and no writes", res, err, alarms)
				}
			}
			reportCalls(b, a.calls)
			b.ReportMetric(float64(alarms), "alarms")
		})
	}
}

// seedBenchFleet launches perOS Windows and perOS Linux instances with
// three disks each, and their agents' metrics.
func seedBenchFleet(b *testing.B, a *account, perOS int) {
	b.Helper()
	var windows []diskalarmtest.WindowsDisk
	var linux []diskalarmtest.LinuxDisk
	for launched := 0; launched < perOS; launched += 100 {
		n := min(100, perOS-launched)
		for _, id := range a.launch(b, "bench-windows", n) {
			windows = append(windows,
				diskalarmtest.WindowsDisk{InstanceID: id, Drive: "C:", SizeGiB: 100, FreePercent: 40},
				diskalarmtest.WindowsDisk{InstanceID: id, Drive: "D:", SizeGiB: 1024, FreePercent: 60},
				diskalarmtest.WindowsDisk{InstanceID: id, Drive: "E:", SizeGiB: 20, FreePercent: 0})
		}
		for _, id := range a.launch(b, "bench-linux", n) {
			for _, path := range []string{"/", "/data", "/var/log"} {
				linux = append(linux, diskalarmtest.LinuxDisk{InstanceID: id, Path: path, Device: "nvme0n1p1", FSType: "xfs", UsedPercent: 50})
			}
		}
	}
	diskalarmtest.PutWindows(b, a.cw, windows...)
	diskalarmtest.PutLinux(b, a.cw, linux...)
}

func deleteAll(b *testing.B, c *cloudwatch.Client) {
	b.Helper()
	var names []string
	for name := range diskalarmtest.Alarms(b, c, DefaultPrefix) {
		names = append(names, name)
	}
	for batch := range slices.Chunk(names, deleteBatch) {
		if _, err := c.DeleteAlarms(context.Background(), &cloudwatch.DeleteAlarmsInput{AlarmNames: batch}); err != nil {
			b.Fatal(err)
		}
	}
}

// reportCalls reports each operation's calls per reconcile.
func reportCalls(b *testing.B, calls *awstest.Calls) {
	for _, op := range []string{"EC2.DescribeInstances", "CloudWatch.DescribeAlarms", "CloudWatch.ListMetrics",
		"CloudWatch.GetMetricData", "CloudWatch.PutMetricAlarm", "CloudWatch.DeleteAlarms"} {
		name := op[strings.IndexByte(op, '.')+1:]
		b.ReportMetric(float64(calls.Count(op))/float64(b.N), name+"/op")
	}
	writes := 0
	for _, n := range calls.Writes() {
		writes += n
	}
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}
