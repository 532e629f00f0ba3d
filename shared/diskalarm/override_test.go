package diskalarm

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
	"github.com/google/go-cmp/cmp"
)

func TestParseOverrides(t *testing.T) {
	got, err := ParseOverrides(" C:=20/10; /data = 85/95 ;")
	want := map[string]Override{"C:": {Warning: 20, Critical: 10}, "/data": {Warning: 85, Critical: 95}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("ParseOverrides = %v, %v; want %v", got, err, want)
	}
	for _, bad := range []string{"C:20/10", "C:=abc", "C:=20", "C:=120/10", "C:=20/20", "C:=20/10;C:=25/15", "=20/10"} {
		if _, err := ParseOverrides(bad); !errors.Is(err, ErrBadInput) {
			t.Errorf("ParseOverrides(%q) = %v, want a bad-input error", bad, err)
		}
	}
}

// overrideFleet is one instance with C: and D: (100 GiB each) and
// /data, its alarms in place.
func overrideFleet(t *testing.T) (*cloudFleet, string) {
	t.Helper()
	f := newCloudFleet()
	id := instanceID(5)
	f.cloud.Launch(id, "win-over")
	for _, drive := range []string{"C:", "D:"} {
		f.cloud.Windows(id, drive, diskalarmtest.Const(100), diskalarmtest.Const(40))
	}
	f.cloud.Linux(id, "/data", diskalarmtest.Const(50))
	if res := f.schedule(t); res.Created != 6 {
		t.Fatalf("created %d, want 6", res.Created)
	}
	return f, id
}

func (f *cloudFleet) threshold(t *testing.T, id, disk, sev string) float64 {
	t.Helper()
	a, _, ok := f.cloud.Alarm(AlarmName(DefaultPrefix, id, disk, sev))
	if !ok {
		t.Fatalf("no %s %s alarm", disk, sev)
	}
	return aws.ToFloat64(a.Threshold)
}

func TestOverridesApplyToTheNamedDisksOnly(t *testing.T) {
	f, id := overrideFleet(t)
	f.cloud.Instance(id).Tags[OverrideTag] = "C:=20/10;/data=85/95"
	f.cloud.ResetCounts()
	res := f.schedule(t)
	if res.Updated != 4 || res.Writes != 4 || f.cloud.Calls["PutMetricAlarm"] != 4 {
		t.Errorf("updated %d with %d writes, want the 4 alarms of C: and /data", res.Updated, res.Writes)
	}
	for _, c := range []struct {
		disk, sev string
		want      float64
	}{{"C:", Warning, 20}, {"C:", Critical, 10}, {"D:", Warning, 30}, {"D:", Critical, 20}, {"/data", Warning, 85}, {"/data", Critical, 95}} {
		if got := f.threshold(t, id, c.disk, c.sev); got != c.want {
			t.Errorf("%s %s threshold %g, want %g", c.disk, c.sev, got, c.want)
		}
	}
	f.cloud.ResetCounts()
	if res := f.schedule(t); res.Writes != 0 {
		t.Errorf("re-run with the same tag: %d writes, want none", res.Writes)
	}
}

func TestBadOverrideLeavesTheInstanceAsItWas(t *testing.T) {
	for _, value := range []string{"C:=oops", "C:=10/20", "/data=95/85"} {
		t.Run(value, func(t *testing.T) {
			f, id := overrideFleet(t)
			f.cloud.Instance(id).Tags[OverrideTag] = value
			f.cloud.Windows(id, "E:", diskalarmtest.Const(100), diskalarmtest.Const(40)) // a new disk waits too
			before := f.cloud.AlarmNames()
			res := f.schedule(t)
			if res.Writes != 0 || !cmp.Equal(f.cloud.AlarmNames(), before) || res.Kept != 6 {
				t.Errorf("tag %q: %d writes, kept %d, alarms %v; want none written and the 6 kept", value, res.Writes, res.Kept, f.cloud.AlarmNames())
			}
			if got := f.threshold(t, id, "C:", Warning); got != 30 {
				t.Errorf("C: Warning %g, want 30 as before", got)
			}
		})
	}
}

func TestOverriddenDiskIsNotSized(t *testing.T) {
	f, id := overrideFleet(t)
	f.cloud.Instance(id).Tags[OverrideTag] = "C:=20/10;D:=25/12"
	f.cloud.ResetCounts()
	if _, err := f.rec.Reconcile(context.Background(), Request{Trigger: TriggerDirect, Selector: Selector{NamePattern: "win-*"}, TopicARN: testTopic}); err != nil {
		t.Fatal(err)
	}
	if f.cloud.Metrics != 0 {
		t.Errorf("%d series read for disks whose thresholds the tag gives, want none", f.cloud.Metrics)
	}
}

func FuzzParseOverrides(f *testing.F) {
	for _, s := range []string{"C:=20/10;/data=85/95", "C:=oops", "", ";;", "/a=b=1/2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseOverrides(s)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Errorf("ParseOverrides(%q) = %v, want a bad-input error", s, err)
			}
			return
		}
		for disk, o := range got {
			if disk == "" || !inPercent(o.Warning) || !inPercent(o.Critical) || o.Warning == o.Critical {
				t.Errorf("ParseOverrides(%q) read %q = %+v", s, disk, o)
			}
		}
	})
}
