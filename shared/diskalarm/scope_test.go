package diskalarm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
)

// bigFleet is n Windows instances launched a day ago, each with C:, and
// their alarms in place; a scheduled run compares slices of it.
func bigFleet(t *testing.T, n int) *cloudFleet {
	t.Helper()
	f := newCloudFleet()
	f.rec.FullPass = DefaultFullPass
	for _, id := range f.windows(n) {
		f.cloud.Instance(id).LaunchTime = t0.Add(-24 * time.Hour)
	}
	if _, err := f.rec.Reconcile(context.Background(), Request{Trigger: TriggerDirect, Selector: Selector{NamePattern: "win-*"}, TopicARN: testTopic}); err != nil {
		t.Fatal(err)
	}
	f.cloud.ResetCounts()
	return f
}

func TestScheduledRunsCompareEveryAlarmWithinAFullPass(t *testing.T) {
	f := bigFleet(t, 2048) // 8 instances a bucket, 4,096 alarms, 41 pages
	// One instance of each bucket goes, without an event: only the
	// comparison can find its alarms.
	for b := range buckets {
		f.cloud.Terminate(instanceID(b))
	}
	most, start := 0, f.clock.Now()
	for run := range int(f.rec.FullPass / DefaultSlot) {
		f.clock.Set(start.Add(time.Duration(run) * DefaultSlot))
		res := f.schedule(t)
		if res.Compared == "all" {
			t.Fatalf("a scheduled run of %d instances compared all its alarms, want a slice", 2048)
		}
		most = max(most, res.Calls["DescribeAlarms"])
	}
	for b := range buckets {
		for _, sev := range []string{Warning, Critical} {
			if _, _, ok := f.cloud.Alarm(AlarmName(DefaultPrefix, instanceID(b), "C:", sev)); ok {
				t.Errorf("after a full pass, the alarm of gone instance %s is still there", instanceID(b))
			}
		}
	}
	if got := len(f.cloud.AlarmNames()); got != 2*(2048-buckets) {
		t.Errorf("%d alarms after a full pass, want %d", got, 2*(2048-buckets))
	}
	// A bucket of 8 instances is 16 alarms, one page; a run compares 2 or
	// 3 buckets, where a whole comparison would read 41 pages.
	if most > 3 {
		t.Errorf("a scheduled run made up to %d DescribeAlarms calls, want at most 3", most)
	}
}

func TestNewInstanceGetsAlarmsInTheRunThatSeesIt(t *testing.T) {
	f := bigFleet(t, 2048)
	id := "i-0f1e2d3c4b5a69788"
	f.cloud.Launch(id, "win-new")
	f.cloud.Windows(id, "C:", diskalarmtest.Const(100), diskalarmtest.Const(40))
	res := f.schedule(t)
	if _, _, ok := f.cloud.Alarm(AlarmName(DefaultPrefix, id, "C:", Warning)); !ok || res.Created != 2 {
		t.Fatalf("new instance: created %d, Warning alarm present %v; want 2 created", res.Created, ok)
	}
	if !strings.Contains(res.Compared, "1 instances by prefix") {
		t.Errorf("compared %q, want the due buckets and the new instance by its prefix", res.Compared)
	}
}

func TestDirectInvocationComparesItsSelectionAtOnce(t *testing.T) {
	f := bigFleet(t, 2048)
	f.cloud.Terminate(instanceID(7))
	res, err := f.rec.Reconcile(context.Background(), Request{Trigger: TriggerDirect, Selector: Selector{NamePattern: "win-*"}, TopicARN: testTopic})
	if err != nil {
		t.Fatal(err)
	}
	if res.Compared != "all" || res.Deleted != 2 {
		t.Errorf("direct invocation: compared %q, deleted %d; want all and 2", res.Compared, res.Deleted)
	}
}

// A burst of 50 instances starting: each state change reconciles its own
// instance at once, with DescribeAlarms asked only for its prefix.
func TestBurstOfNewInstancesByEvents(t *testing.T) {
	f := bigFleet(t, 512)
	var ids []string
	for i := range 50 {
		id := instanceID(0x10000 + i)
		f.cloud.Launch(id, "win-burst")
		f.cloud.Windows(id, "C:", diskalarmtest.Const(100), diskalarmtest.Const(40))
		ids = append(ids, id)
	}
	for _, id := range ids {
		res, err := f.rec.Reconcile(context.Background(), Request{Trigger: TriggerRunning, InstanceID: id, Selector: Selector{NamePattern: "win-*"}, TopicARN: testTopic})
		if err != nil {
			t.Fatal(err)
		}
		if res.Created != 2 || res.Calls["DescribeAlarms"] != 1 {
			t.Errorf("running %s: created %d with %d DescribeAlarms calls, want 2 with 1", id, res.Created, res.Calls["DescribeAlarms"])
		}
	}
}

// Paced at QUOTA_SHARE, no API is throttled though the account holds its
// quotas, and the result counts the calls the account saw.
func TestEveryAPIIsPacedAtItsShareOfTheQuota(t *testing.T) {
	f := newCloudFleet()
	f.cloud.Quotas = Quotas
	f.windows(300)
	f.rec.Pacers = map[string]Pacer{}
	for api, q := range Quotas {
		f.rec.Pacers[api] = &diskalarmtest.Pacer{Clock: f.clock, Rate: q * DefaultQuotaShare}
	}
	res := f.schedule(t)
	for api, n := range f.cloud.Throttled {
		if n > 0 {
			t.Errorf("%s throttled %d times, want none", api, n)
		}
	}
	for api, n := range f.cloud.Calls {
		if res.Calls[api] != n {
			t.Errorf("result counts %d %s calls, the account saw %d", res.Calls[api], api, n)
		}
	}
	if res.Created != 600 || res.Calls["PutMetricAlarm"] != 600 {
		t.Errorf("created %d with %d PutMetricAlarm calls, want 600", res.Created, res.Calls["PutMetricAlarm"])
	}
}

// A large first creation by the operators' command: each pass of the chain
// reads only the buckets it writes, and the next starts after its cursor,
// so that reads follow the writes and the chain reads the fleet once.
func TestChainPassesReadOnlyWhatTheyWrite(t *testing.T) {
	f := newCloudFleet()
	f.windows(2048)
	req := Request{Trigger: TriggerDirect, Selector: Selector{NamePattern: "win-*"}, TopicARN: testTopic}
	reads, passes := 0, 0
	for {
		passes++
		f.rec.Limiter = &diskalarmtest.StopAfter{N: 500}
		res, err := f.rec.Reconcile(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		reads += res.Calls["DescribeAlarms"]
		if passes == 1 && res.Calls["DescribeAlarms"] > 40 {
			t.Errorf("first pass read %d buckets for 500 writes, want about 32 (16 alarms a bucket)", res.Calls["DescribeAlarms"])
		}
		if !res.Incomplete {
			break
		}
		if passes > 20 || !res.Progressed(req.Cursor) {
			t.Fatalf("pass %d: cursor %q did not move on from %q", passes, res.Cursor, req.Cursor)
		}
		req = Request{Trigger: TriggerResume, Origin: TriggerDirect, Pass: passes + 1, Cursor: res.Cursor,
			Selector: req.Selector, TopicARN: testTopic}
	}
	if got := len(f.cloud.AlarmNames()); got != 4096 || passes != 9 {
		t.Errorf("chain: %d alarms in %d passes, want 4,096 in 9", got, passes)
	}
	if reads > buckets+passes {
		t.Errorf("the chain read %d DescribeAlarms pages, want at most %d: each bucket once, and the one a pass stopped in again", reads, buckets+passes)
	}
}
