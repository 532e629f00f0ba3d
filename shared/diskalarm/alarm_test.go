package diskalarm

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestThresholdsByDiskSize(t *testing.T) {
	s := AlarmSettings{Prefix: DefaultPrefix, TopicARN: testTopic, TreatMissingData: "missing", Thresholds: DefaultThresholds()}
	const id = "i-0aaaaaaaaaaaaaaaa"
	m := windows(MetricFreePercent, id, "C:")
	tests := []struct {
		name               string
		disk               Disk
		warning, critical  float64
		statistic, compare string
		descContains       string
	}{
		{"100 GiB", Disk{InstanceID: id, Label: "C:", OS: OSWindows, Metric: m, SizeGiB: 100, SizeKnown: true}, 30, 20, "Minimum", "LessThanThreshold", "disks under 500 GiB"},
		{"just under 500 GiB", Disk{InstanceID: id, Label: "C:", OS: OSWindows, Metric: m, SizeGiB: 499.9, SizeKnown: true}, 30, 20, "Minimum", "LessThanThreshold", "under 500 GiB"},
		{"500 GiB", Disk{InstanceID: id, Label: "C:", OS: OSWindows, Metric: m, SizeGiB: 500, SizeKnown: true}, 15, 10, "Minimum", "LessThanThreshold", "500 GiB and over"},
		{"1 TiB", Disk{InstanceID: id, Label: "C:", OS: OSWindows, Metric: m, SizeGiB: 1024, SizeKnown: true}, 15, 10, "Minimum", "LessThanThreshold", "500 GiB and over"},
		{"size unknown", Disk{InstanceID: id, Label: "C:", OS: OSWindows, Metric: m, SizeReason: "the disk is full"}, 30, 20, "Minimum", "LessThanThreshold", "size is unknown"},
		{"Linux", Disk{InstanceID: id, Label: "/", OS: OSLinux, Metric: linux(id, "/", "xfs")}, 80, 90, "Maximum", "GreaterThanThreshold", "used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			alarms := s.Alarms(tt.disk, "web-1")
			if len(alarms) != 2 {
				t.Fatalf("Alarms = %d, want Warning and Critical", len(alarms))
			}
			for i, want := range []struct {
				sev       string
				threshold float64
			}{{Warning, tt.warning}, {Critical, tt.critical}} {
				a := alarms[i]
				if a.Name != AlarmName(DefaultPrefix, id, tt.disk.Label, want.sev) || a.Threshold != want.threshold {
					t.Errorf("alarm %d = %q at %g, want %s at %g", i, a.Name, a.Threshold, want.sev, want.threshold)
				}
				if a.Statistic != tt.statistic || a.Comparison != tt.compare || a.Period != 300 || a.EvaluationPeriods != 2 || a.DatapointsToAlarm != 2 {
					t.Errorf("alarm %s: %s %s %ds %d of %d, want %s %s 300s 2 of 2", a.Name, a.Statistic, a.Comparison, a.Period, a.DatapointsToAlarm, a.EvaluationPeriods, tt.statistic, tt.compare)
				}
				if !strings.Contains(a.Description, tt.descContains) || !strings.Contains(a.Description, "web-1") || !strings.HasPrefix(a.Description, want.sev) {
					t.Errorf("description %q lacks %q, the instance name or the severity", a.Description, tt.descContains)
				}
				if diff := cmp.Diff(tt.disk.Metric.Dimensions, a.Dimensions); diff != "" {
					t.Errorf("alarm dimensions differ from the metric's (-metric +alarm):\n%s", diff)
				}
				if !cmp.Equal(a.AlarmActions, []string{testTopic}) || !cmp.Equal(a.OKActions, []string{testTopic}) {
					t.Errorf("actions = %v / %v, want the topic", a.AlarmActions, a.OKActions)
				}
			}
		})
	}
}

func TestAlarmNames(t *testing.T) {
	const id = "i-0123456789abcdef0"
	if got, want := AlarmName(DefaultPrefix, id, "C:", Warning), "lambda-suite/disk-space/i-0123456789abcdef0 C: Warning"; got != want {
		t.Errorf("AlarmName = %q, want %q", got, want)
	}
	long := "/mnt/" + strings.Repeat("ü/very/deep/mount/point", 20)
	other := long + "/sibling"
	a, b := AlarmName(DefaultPrefix, id, long, Critical), AlarmName(DefaultPrefix, id, other, Critical)
	switch {
	case len(a) > 255 || len(b) > 255:
		t.Errorf("long names are %d and %d bytes, want at most 255", len(a), len(b))
	case a == b:
		t.Errorf("two long paths share the name %q", a)
	case !utf8.ValidString(a) || !strings.HasSuffix(a, " Critical") || !strings.HasPrefix(a, InstancePrefix(DefaultPrefix, id)):
		t.Errorf("long name %q must stay UTF-8 and keep instance and severity", a)
	case a != AlarmName(DefaultPrefix, id, long, Critical):
		t.Errorf("AlarmName is not deterministic")
	}
	if got := instanceOfName(DefaultPrefix, a); got != id {
		t.Errorf("instanceOfName(%q) = %q, want %q", a, got, id)
	}
	for _, name := range []string{"lambda-suite/disk-space/not-an-instance C: Warning", "other/i-0123456789abcdef0 C: Warning", "lambda-suite/disk-space/i-0123456789abcdef0"} {
		if got := instanceOfName(DefaultPrefix, name); got != "" {
			t.Errorf("instanceOfName(%q) = %q, want none", name, got)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"", "alarms/*", "a?", strings.Repeat("x", 101), "tab\there"} {
		if ValidatePrefix(p) == nil {
			t.Errorf("ValidatePrefix(%q) = nil, want an error", p)
		}
	}
	if err := ValidatePrefix(DefaultPrefix); err != nil {
		t.Errorf("ValidatePrefix(default) = %v", err)
	}
}

func TestChanges(t *testing.T) {
	s := AlarmSettings{Prefix: DefaultPrefix, TopicARN: testTopic, TreatMissingData: "missing", Thresholds: DefaultThresholds()}
	want := s.Alarms(Disk{InstanceID: "i-0aaaaaaaaaaaaaaaa", Label: "C:", OS: OSWindows, Metric: windows(MetricFreePercent, "i-0aaaaaaaaaaaaaaaa", "C:"), SizeKnown: true, SizeGiB: 100}, "")[0]
	tests := []struct {
		name string
		edit func(*Alarm)
		want []string
	}{
		{"same", func(*Alarm) {}, nil},
		{"dimensions in another order", func(a *Alarm) { a.Dimensions[0], a.Dimensions[2] = a.Dimensions[2], a.Dimensions[0] }, nil},
		{"TreatMissingData omitted means missing", func(a *Alarm) { a.TreatMissingData = "" }, nil},
		{"threshold", func(a *Alarm) { a.Threshold = 15 }, []string{"threshold 15 → 30"}},
		{"a dimension more", func(a *Alarm) { a.Dimensions = append(a.Dimensions, Dimension{"ImageId", "ami-1"}) }, []string{"dimensions"}},
		{"another topic", func(a *Alarm) { a.OKActions = []string{"arn:aws:sns:us-east-1:123456789012:old"} }, []string{"okActions"}},
		{"insufficient-data action added by hand", func(a *Alarm) { a.InsufficientData = []string{testTopic} }, []string{"insufficientDataActions"}},
		{"percentile statistic", func(a *Alarm) { a.Statistic = "p90" }, []string{"statistic"}},
		{"actions disabled", func(a *Alarm) { a.ActionsEnabled = false }, []string{"actionsEnabled"}},
		{"description", func(a *Alarm) { a.Description = "edited" }, []string{"description"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := want
			got.Dimensions = append([]Dimension(nil), want.Dimensions...)
			tt.edit(&got)
			changes := Changes(want, got)
			if len(changes) != len(tt.want) {
				t.Fatalf("Changes = %q, want %d like %q", changes, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(changes[i], w) {
					t.Errorf("Changes[%d] = %q, want it to start %q", i, changes[i], w)
				}
			}
		})
	}
}
