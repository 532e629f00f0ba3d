package diskalarm

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func windows(name, instanceID, drive string, extra ...Dimension) Metric {
	dims := append([]Dimension{{dimInstanceID, instanceID}, {dimWindowsVol, drive}, {"objectname", "LogicalDisk"}}, extra...)
	return Metric{Namespace: "CWAgent", Name: name, Dimensions: dims}
}

func linux(instanceID, path, fstype string, extra ...Dimension) Metric {
	dims := append([]Dimension{{dimInstanceID, instanceID}, {dimPath, path}, {"device", "nvme0n1p1"}, {dimFSType, fstype}}, extra...)
	return Metric{Namespace: "CWAgent", Name: MetricUsedPercent, Dimensions: dims}
}

func TestGroupDisks(t *testing.T) {
	const a, b, other = "i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb", "i-0cccccccccccccccc"
	metrics := []Metric{
		windows(MetricFreePercent, a, "C:"),
		windows(MetricFreeMegabytes, a, "C:"),
		windows(MetricFreePercent, a, "C:"), // ListMetrics repeats series
		windows(MetricAgentFreePercent, a, "D:"),
		windows(MetricAgentFreeMegabytes, a, "D:"),
		windows(MetricFreePercent, a, "_Total"),
		windows(MetricFreePercent, a, "HarddiskVolume1"),
		windows(MetricFreeMegabytes, a, "E:"), // no percent series
		linux(b, "/", "xfs"),
		linux(b, "/dev/shm", "tmpfs"),
		linux(b, "/run", "devtmpfs"),
		linux(b, "/var/lib/docker/overlay2/x/merged", "overlay"),
		linux(b, "/snap/core/1", "squashfs"),
		{Namespace: "CWAgent", Name: MetricUsedPercent, Dimensions: []Dimension{{"AutoScalingGroupName", "web"}, {dimPath, "/"}}},
		linux(other, "/", "xfs"), // not in scope
		{Namespace: "CWAgent", Name: "mem_used_percent", Dimensions: []Dimension{{dimInstanceID, a}}},
	}
	disks, skips := groupDisks(metrics, func(id string) bool { return id != other })

	var got []string
	for _, d := range disks {
		got = append(got, d.InstanceID[:4]+" "+d.OS+" "+d.Label)
		if d.Label == "C:" && (len(d.Usage) != 1 || len(d.Megabytes) != 1) {
			t.Errorf("C: has %d usage and %d megabytes series, want 1 and 1 (duplicates dropped)", len(d.Usage), len(d.Megabytes))
		}
	}
	want := []string{"i-0a windows C:", "i-0a windows D:", "i-0b linux /"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("disks (-want +got):\n%s", diff)
	}
	wantSkips := []Skip{
		{a, "E:", ReasonNoPercent},
		{a, "HarddiskVolume1", ReasonNoDriveLetter},
		{a, "_Total", ReasonWindowsTotal},
		{b, "/dev/shm", ReasonPseudoFS + " (tmpfs)"},
		{b, "/run", ReasonPseudoFS + " (devtmpfs)"},
		{b, "/snap/core/1", ReasonPseudoFS + " (squashfs)"},
		{b, "/var/lib/docker/overlay2/x/merged", ReasonPseudoFS + " (overlay)"},
	}
	if diff := cmp.Diff(wantSkips, skips); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
}

func TestDeriveSizeGiB(t *testing.T) {
	tests := []struct {
		name           string
		freeMB, pct    float64
		want           float64
		reasonContains string
	}{
		{name: "100 GiB, a quarter free", freeMB: 25600, pct: 25, want: 100},
		{name: "1 TiB, 12 % free", freeMB: 1024 * 1024 * 0.12, pct: 12, want: 1024},
		{name: "full disk", freeMB: 0, pct: 0, reasonContains: "full"},
		{name: "MB without percent", freeMB: 10, pct: 0, reasonContains: "disagree"},
		{name: "percent without MB", freeMB: 0, pct: 3, reasonContains: "disagree"},
		{name: "over 100 %", freeMB: 10, pct: 150, reasonContains: "more than the whole disk"},
		{name: "NaN", freeMB: math.NaN(), pct: 10, reasonContains: "not numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := DeriveSizeGiB(tt.freeMB, tt.pct)
			if tt.reasonContains != "" {
				if !strings.Contains(reason, tt.reasonContains) || got != 0 {
					t.Errorf("DeriveSizeGiB(%g, %g) = %g, %q, want no size and a reason containing %q", tt.freeMB, tt.pct, got, reason, tt.reasonContains)
				}
				return
			}
			if reason != "" || math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("DeriveSizeGiB(%g, %g) = %g, %q, want %g", tt.freeMB, tt.pct, got, reason, tt.want)
			}
		})
	}
}

func TestResolvePicksTheLiveSeriesAndPairsItsMegabytes(t *testing.T) {
	const id = "i-0aaaaaaaaaaaaaaaa"
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	oldType, newType := Dimension{"InstanceType", "t3.large"}, Dimension{"InstanceType", "m5.large"}
	oldPct, oldMB := windows(MetricFreePercent, id, "C:", oldType), windows(MetricFreeMegabytes, id, "C:", oldType)
	newPct, newMB := windows(MetricFreePercent, id, "C:", newType), windows(MetricFreeMegabytes, id, "C:", newType)
	agentPct := windows(MetricAgentFreePercent, id, "C:", newType)
	at := func(age time.Duration, v float64) []Point { return []Point{{Time: now.Add(-age), Value: v}} }

	tests := []struct {
		name      string
		disk      listedDisk
		data      Datapoints
		want      Metric
		wantSize  float64
		wantKnown bool
	}{
		{
			name: "after a resize, the series with the newest data",
			disk: listedDisk{InstanceID: id, Label: "C:", OS: OSWindows, Usage: []Metric{oldPct, newPct}, Megabytes: []Metric{oldMB, newMB}},
			data: Datapoints{oldPct.Key(): at(3*time.Hour, 50), oldMB.Key(): at(3*time.Hour, 51200), newPct.Key(): at(time.Hour, 25), newMB.Key(): at(time.Hour, 51200)},
			want: newPct, wantSize: 200, wantKnown: true,
		},
		{
			name: "on a tie, the renamed metric",
			disk: listedDisk{InstanceID: id, Label: "C:", OS: OSWindows, Usage: []Metric{agentPct, newPct}, Megabytes: []Metric{newMB}},
			data: Datapoints{agentPct.Key(): at(time.Hour, 50), newPct.Key(): at(time.Hour, 50), newMB.Key(): at(time.Hour, 51200)},
			want: newPct, wantSize: 100, wantKnown: true,
		},
		{
			name: "no datapoints yet",
			disk: listedDisk{InstanceID: id, Label: "C:", OS: OSWindows, Usage: []Metric{newPct}, Megabytes: []Metric{newMB}},
			data: Datapoints{},
			want: newPct,
		},
		{
			name: "datapoints of different moments do not make a size",
			disk: listedDisk{InstanceID: id, Label: "C:", OS: OSWindows, Usage: []Metric{newPct}, Megabytes: []Metric{newMB}},
			data: Datapoints{newPct.Key(): at(time.Hour, 50), newMB.Key(): at(2*time.Hour, 51200)},
			want: newPct,
		},
		{
			name: "megabytes with other dimensions do not pair",
			disk: listedDisk{InstanceID: id, Label: "C:", OS: OSWindows, Usage: []Metric{newPct}, Megabytes: []Metric{oldMB}},
			data: Datapoints{newPct.Key(): at(time.Hour, 50), oldMB.Key(): at(time.Hour, 51200)},
			want: newPct,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := resolve(tt.disk, tt.data)
			if got.Metric.Key() != tt.want.Key() {
				t.Errorf("resolve chose %v, want %v", got.Metric.Dimensions, tt.want.Dimensions)
			}
			if got.SizeKnown != tt.wantKnown || math.Abs(got.SizeGiB-tt.wantSize) > 1e-6 {
				t.Errorf("resolve size = %g known %t (%s), want %g known %t", got.SizeGiB, got.SizeKnown, got.SizeReason, tt.wantSize, tt.wantKnown)
			}
			if !got.SizeKnown && got.SizeReason == "" {
				t.Errorf("resolve: size unknown without a reason")
			}
		})
	}
}

func TestMetricKeyIgnoresDimensionOrder(t *testing.T) {
	a := Metric{Namespace: "CWAgent", Name: "x", Dimensions: []Dimension{{"A", "1"}, {"B", "2"}}}
	b := Metric{Namespace: "CWAgent", Name: "x", Dimensions: []Dimension{{"B", "2"}, {"A", "1"}}}
	c := Metric{Namespace: "CWAgent", Name: "x", Dimensions: []Dimension{{"A", "1"}}}
	if a.Key() != b.Key() || a.Key() == c.Key() {
		t.Errorf("Key: same set must match, a subset must not")
	}
	if got := Dedupe([]Metric{a, b, c}); len(got) != 2 {
		t.Errorf("Dedupe = %d series, want 2", len(got))
	}
}
