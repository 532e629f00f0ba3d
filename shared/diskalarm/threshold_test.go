package diskalarm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseThresholds(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Thresholds
		wantErr string
	}{
		{name: "empty means defaults", in: "", want: DefaultThresholds()},
		{
			name: "Linux only keeps the Windows default",
			in:   `{"linux": {"warningUsedPercent": 70, "criticalUsedPercent": 85}}`,
			want: Thresholds{Windows: DefaultThresholds().Windows, Linux: LinuxBand{70, 85}},
		},
		{
			name: "three Windows bands",
			in:   `{"windows": [{"minSizeGiB": 0, "warningFreePercent": 30, "criticalFreePercent": 20}, {"minSizeGiB": 200, "warningFreePercent": 20, "criticalFreePercent": 10}, {"minSizeGiB": 2000, "warningFreePercent": 10, "criticalFreePercent": 5}]}`,
			want: Thresholds{Windows: []WindowsBand{{0, 30, 20}, {200, 20, 10}, {2000, 10, 5}}, Linux: DefaultThresholds().Linux},
		},
		{name: "not JSON", in: `30/20`, wantErr: "not the thresholds JSON"},
		{name: "misspelt field", in: `{"windows": [{"minSizeGiB": 0, "warnFreePercent": 30, "criticalFreePercent": 20}]}`, wantErr: "warnFreePercent"},
		{name: "no bands", in: `{"windows": []}`, wantErr: "at least one band"},
		{name: "first band not at 0", in: `{"windows": [{"minSizeGiB": 100, "warningFreePercent": 30, "criticalFreePercent": 20}]}`, wantErr: "must start at 0"},
		{name: "bands out of order", in: `{"windows": [{"minSizeGiB": 0, "warningFreePercent": 30, "criticalFreePercent": 20}, {"minSizeGiB": 0, "warningFreePercent": 15, "criticalFreePercent": 10}]}`, wantErr: "increasing"},
		{name: "critical above warning", in: `{"windows": [{"minSizeGiB": 0, "warningFreePercent": 20, "criticalFreePercent": 30}]}`, wantErr: "criticalFreePercent 30 must be below"},
		{name: "percent over 100", in: `{"linux": {"warningUsedPercent": 80, "criticalUsedPercent": 120}}`, wantErr: "between 0 and 100"},
		{name: "Linux critical below warning", in: `{"linux": {"warningUsedPercent": 90, "criticalUsedPercent": 80}}`, wantErr: "must be above"},
		{name: "trailing data", in: `{} {}`, wantErr: "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseThresholds(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("ParseThresholds(%s) = %v, want an error containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseThresholds(%s) = %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseThresholds (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBandLabels(t *testing.T) {
	th := Thresholds{Windows: []WindowsBand{{0, 30, 20}, {200, 20, 10}, {2000, 10, 5}}}
	want := []string{"disks under 200 GiB", "disks of 200 GiB up to 2000 GiB", "disks of 2000 GiB and over"}
	for i, w := range want {
		if got := th.bandLabel(i); got != w {
			t.Errorf("bandLabel(%d) = %q, want %q", i, got, w)
		}
	}
}
