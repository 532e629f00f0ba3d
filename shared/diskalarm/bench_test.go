package diskalarm

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/ebs-ops/lambda-suite/shared/awstest"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm/diskalarmtest"
)

// BenchmarkReconcile reconciles 1,000 instances with 3 disks each in moto:
// 500 Windows (C: 100 GiB, D: 1 TiB, E: full) and 500 Linux (/, /data,
// /var/log), so 6,000 alarms. "first-run" starts with no alarms,
// "unchanged" with all of them in place. Writes are not paced: at the
// default 3 a second, a first run in AWS takes writes/3 seconds on top.
func BenchmarkReconcile(b *testing.B) {
	a := newAccount(b)
	seedBenchFleet(b, a)
	req := Request{Trigger: TriggerSchedule, Selector: Selector{NamePattern: "bench-*"}, TopicARN: testTopic}

	b.Run("first-run", func(b *testing.B) {
		a.calls.Reset()
		for range b.N {
			b.StopTimer()
			deleteAll(b, a.cw)
			b.StartTimer()
			res, err := a.rec.Reconcile(context.Background(), req)
			if err != nil || res.Created != 6000 {
				b.Fatalf("first run = %+v, %v, want 6000 created", res, err)
			}
		}
		reportCalls(b, a.calls)
	})
	b.Run("unchanged", func(b *testing.B) {
		if _, err := a.rec.Reconcile(context.Background(), req); err != nil {
			b.Fatal(err)
		}
		a.calls.Reset()
		for b.Loop() {
			res, err := a.rec.Reconcile(context.Background(), req)
			if err != nil || res.Unchanged != 6000 || res.Writes != 0 {
				b.Fatalf("re-run = %+v, %v, want 6000 unchanged and no writes", res, err)
			}
		}
		reportCalls(b, a.calls)
	})
}

func seedBenchFleet(b *testing.B, a *account) {
	b.Helper()
	var windows []diskalarmtest.WindowsDisk
	var linux []diskalarmtest.LinuxDisk
	for range 5 {
		for _, id := range a.launch(b, "bench-windows", 100) {
			windows = append(windows,
				diskalarmtest.WindowsDisk{InstanceID: id, Drive: "C:", SizeGiB: 100, FreePercent: 40},
				diskalarmtest.WindowsDisk{InstanceID: id, Drive: "D:", SizeGiB: 1024, FreePercent: 60},
				diskalarmtest.WindowsDisk{InstanceID: id, Drive: "E:", SizeGiB: 20, FreePercent: 0})
		}
		for _, id := range a.launch(b, "bench-linux", 100) {
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
