package diskalarm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
)

// cloudFleet is a Reconciler over an in-memory account on a virtual clock.
type cloudFleet struct {
	cloud *diskalarmtest.Cloud
	clock *diskalarmtest.Clock
	rec   *Reconciler
}

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func newCloudFleet() *cloudFleet {
	clock := diskalarmtest.NewClock(t0)
	cloud := diskalarmtest.NewCloud(clock, nil)
	return &cloudFleet{cloud: cloud, clock: clock, rec: &Reconciler{
		EC2: cloud, CloudWatch: cloud, Namespace: diskalarmtest.Namespace, Now: clock.Now,
		Alarms:      AlarmSettings{Prefix: DefaultPrefix, TreatMissingData: DefaultTreatMissingData, Thresholds: DefaultThresholds(), TopicARN: testTopic},
		SizeRefresh: 24 * time.Hour,
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}}
}

// instanceID is the n-th test instance's ID; n%256 is its bucket.
func instanceID(n int) string { return fmt.Sprintf("i-%02x%015x", n%256, n) }

// windows launches n Windows instances, each with C: of 100 GiB 40 % free.
func (f *cloudFleet) windows(n int) []string {
	var ids []string
	for i := range n {
		id := instanceID(i)
		f.cloud.Launch(id, "win-"+id)
		f.cloud.Windows(id, "C:", diskalarmtest.Const(100), diskalarmtest.Const(40))
		ids = append(ids, id)
	}
	return ids
}

func (f *cloudFleet) schedule(t *testing.T) Result {
	t.Helper()
	res, err := f.rec.Reconcile(context.Background(), Request{Trigger: TriggerSchedule, Selector: Selector{NamePattern: "win-*"}, TopicARN: testTopic})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestUnchangedFleetSecondRunReadsNoSeries(t *testing.T) {
	f := newCloudFleet()
	f.windows(20)
	first := f.schedule(t)
	if first.Created != 40 || first.SizesRead != 20 || f.cloud.Metrics != 40 {
		t.Fatalf("first run: created %d, sizes read %d, series requested %d; want 40, 20, 40", first.Created, first.SizesRead, f.cloud.Metrics)
	}
	f.cloud.ResetCounts()
	f.clock.Advance(15 * time.Minute)
	second := f.schedule(t)
	if f.cloud.Metrics != 0 || f.cloud.Calls["GetMetricData"] != 0 || second.SizesRead != 0 {
		t.Errorf("second run: %d series in %d GetMetricData calls, sizes read %d; want none", f.cloud.Metrics, f.cloud.Calls["GetMetricData"], second.SizesRead)
	}
	if second.Writes != 0 || second.Unchanged != 40 {
		t.Errorf("second run: %d writes, %d unchanged; want 0 and 40", second.Writes, second.Unchanged)
	}
}

func TestRunAfterSizeRefreshReadsOnlyTheDueSlice(t *testing.T) {
	f := newCloudFleet()
	ids := f.windows(256) // one instance in each bucket
	f.schedule(t)
	f.clock.Advance(25 * time.Hour)
	f.cloud.ResetCounts()
	res := f.schedule(t)
	due := map[string]bool{}
	for _, b := range f.rec.Slices.DueBuckets(f.rec.SizeRefresh, f.clock.Now()) {
		due[instanceID(b)] = true
	}
	if len(due) == 0 || len(due) > 3 {
		t.Fatalf("%d buckets due in one slot of a 24 h refresh, want 2 or 3", len(due))
	}
	if res.SizesRead != len(due) || f.cloud.Metrics != 2*len(due) {
		t.Errorf("run after the refresh: sizes read %d, series %d; want %d and %d (the due slice of %d instances)", res.SizesRead, f.cloud.Metrics, len(due), 2*len(due), len(ids))
	}
}

func TestResizedDiskMovesBandWithinOneRefresh(t *testing.T) {
	f := newCloudFleet()
	id := instanceID(0x9c)
	f.cloud.Launch(id, "win-big")
	size := 100.0
	f.cloud.Windows(id, "D:", func(time.Time) float64 { return size }, diskalarmtest.Const(40))
	f.schedule(t)
	warning := AlarmName(DefaultPrefix, id, "D:", Warning)
	threshold := func() float64 {
		a, _, _ := f.cloud.Alarm(warning)
		return aws.ToFloat64(a.Threshold)
	}
	if got := threshold(); got != 30 {
		t.Fatalf("100 GiB: Warning threshold %g, want 30", got)
	}
	f.clock.Advance(3 * time.Hour)
	size = 1024
	resized := f.clock.Now()
	for threshold() == 30 && f.clock.Now().Sub(resized) <= f.rec.SizeRefresh {
		f.clock.Advance(15 * time.Minute)
		f.schedule(t)
	}
	if got, took := threshold(), f.clock.Now().Sub(resized); got != 15 || took > f.rec.SizeRefresh {
		t.Errorf("1 TiB: Warning threshold %g after %s, want 15 within %s", got, took, f.rec.SizeRefresh)
	}
}

// Alarms written by the previous version carry the same descriptions:
// their bands are kept, and they are not rewritten.
func TestKeptSizesReadTheDescription(t *testing.T) {
	th := DefaultThresholds()
	at := t0.Add(-time.Hour)
	have := []Alarm{
		{Name: "p/i-1 C: Warning", Comparison: "LessThanThreshold", UpdatedAt: at,
			Description: "Warning: free space on C: of i-1 is below 15 % for 10 minutes. Thresholds for disks of 500 GiB and over. Managed by lambda-suite ebs-alarms: …"},
		{Name: "p/i-1 E: Warning", Comparison: "LessThanThreshold", UpdatedAt: at,
			Description: "Warning: … The disk's size is unknown, so the thresholds for disks under 500 GiB apply. Managed …"},
		{Name: "p/i-1 F: Warning", Comparison: "LessThanThreshold", Description: "Thresholds for disks under 300 GiB."},
		{Name: "p/i-1 C: Critical", Comparison: "LessThanThreshold", Description: "Thresholds for disks under 500 GiB."},
		{Name: "p/i-2 /data Warning", Comparison: "GreaterThanThreshold", Description: "Thresholds for disks under 500 GiB."},
	}
	got := keptSizes(have, th)
	want := map[string]keptSize{"p/i-1 C: Warning": {Known: true, Band: 1, At: at}, "p/i-1 E: Warning": {At: at}}
	if len(got) != len(want) || got["p/i-1 C: Warning"] != want["p/i-1 C: Warning"] || got["p/i-1 E: Warning"] != want["p/i-1 E: Warning"] {
		t.Errorf("keptSizes = %+v, want %+v", got, want)
	}
}

func TestEveryBucketIsDueOnceACycle(t *testing.T) {
	for _, cycle := range []time.Duration{15 * time.Minute, 6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour} {
		s := Slices{}
		seen := map[int]int{}
		for at := t0; at.Before(t0.Add(cycle)); at = at.Add(DefaultSlot) {
			for _, b := range s.DueBuckets(cycle, at) {
				seen[b]++
			}
		}
		for b := range buckets {
			if seen[b] != 1 {
				t.Errorf("cycle %s: bucket %d due %d times, want once", cycle, b, seen[b])
			}
		}
	}
	if got := Bucket("i-9c0123456789abcde"); got != 0x9c {
		t.Errorf("Bucket(i-9c…) = %d, want %d", got, 0x9c)
	}
	if got := Bucket("vol-1"); got != -1 {
		t.Errorf("Bucket(vol-1) = %d, want -1", got)
	}
}
