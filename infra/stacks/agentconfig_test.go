package stacks

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
)

// agentConfig is the part of a CloudWatch agent configuration that decides
// which disk series it publishes.
type agentConfig struct {
	Metrics struct {
		Namespace             string                      `json:"namespace"`
		AppendDimensions      map[string]string           `json:"append_dimensions"`
		AggregationDimensions [][]string                  `json:"aggregation_dimensions"`
		MetricsCollected      map[string]agentMetricGroup `json:"metrics_collected"`
	} `json:"metrics"`
}

type agentMetricGroup struct {
	Measurement []json.RawMessage `json:"measurement"`
	Resources   []string          `json:"resources"`
	DropDevice  bool              `json:"drop_device"`
}

// names returns the metric names a group publishes: a measurement's
// rename, or the agent's own name for it (prefix + name).
func (g agentMetricGroup) names(prefix string) ([]string, error) {
	var out []string
	for _, raw := range g.Measurement {
		var m struct{ Name, Rename string }
		if err := json.Unmarshal(raw, &m.Name); err != nil {
			if err := json.Unmarshal(raw, &m); err != nil {
				return nil, err
			}
		}
		if m.Rename != "" {
			out = append(out, m.Rename)
		} else {
			out = append(out, prefix+m.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// series describes what an agent publishes for one disk.
type series struct {
	names      []string
	dimensions []string
}

// The agent's own dimensions of disk series (its documented behaviour):
// Linux's disk plugin sets path, fstype and device (unless drop_device);
// Windows performance counters set instance (the drive) and objectname.
func publishedSeries(t *testing.T, cfg agentConfig, os string) series {
	t.Helper()
	var group agentMetricGroup
	var prefix string
	var own []string
	switch os {
	case diskalarm.OSLinux:
		group, prefix, own = cfg.Metrics.MetricsCollected["disk"], "disk_", []string{"path", "fstype"}
		if !group.DropDevice {
			own = append(own, "device")
		}
	case diskalarm.OSWindows:
		group, prefix, own = cfg.Metrics.MetricsCollected["LogicalDisk"], "LogicalDisk ", []string{"instance", "objectname"}
	}
	names, err := group.names(prefix)
	if err != nil {
		t.Fatalf("measurements: %v", err)
	}
	dims := slices.Concat(own, slices.Collect(maps.Keys(cfg.Metrics.AppendDimensions)))
	slices.Sort(dims)
	return series{names: names, dimensions: dims}
}

// TestCloudWatchAgentConfigs checks that the sample agent configurations in
// docs/cloudwatch-agent publish the series ebs-alarms reads: its namespace,
// its metric names (diskalarm's exported constants), one series per disk,
// each with the instance's ID. diskalarm's dimension names are unexported,
// so they are spelled here: InstanceId, and the disk's instance (Windows)
// or path (Linux).
func TestCloudWatchAgentConfigs(t *testing.T) {
	tests := []struct {
		file      string
		os        string
		wantNames []string
		diskDim   string
	}{
		{"linux.json", diskalarm.OSLinux, []string{diskalarm.MetricUsedPercent}, "path"},
		// Both Windows metrics, of one naming: the megabytes give the size.
		{"windows.json", diskalarm.OSWindows, []string{diskalarm.MetricFreeMegabytes, diskalarm.MetricFreePercent}, "instance"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			cfg := readAgentConfig(t, tt.file)
			if got := cfg.Metrics.Namespace; got != DefaultDiskAlarmNamespace {
				t.Errorf("namespace = %q, want %q (METRIC_NAMESPACE)", got, DefaultDiskAlarmNamespace)
			}
			if got := cfg.Metrics.AppendDimensions["InstanceId"]; got != "${aws:InstanceId}" {
				t.Errorf("append_dimensions.InstanceId = %q, want ${aws:InstanceId}: a series without it is skipped", got)
			}
			if len(cfg.Metrics.AggregationDimensions) > 0 {
				t.Errorf("aggregation_dimensions = %v: aggregates have no InstanceId and only cost money", cfg.Metrics.AggregationDimensions)
			}
			s := publishedSeries(t, cfg, tt.os)
			if diff := cmp.Diff(tt.wantNames, s.names); diff != "" {
				t.Errorf("metric names (-want +got):\n%s", diff)
			}
			for _, d := range []string{"InstanceId", tt.diskDim} {
				if !slices.Contains(s.dimensions, d) {
					t.Errorf("dimensions %v: want %s", s.dimensions, d)
				}
			}
			for name, group := range cfg.Metrics.MetricsCollected {
				if !slices.Equal(group.Resources, []string{"*"}) {
					t.Errorf("%s.resources = %v, want [\"*\"]: every disk", name, group.Resources)
				}
			}
		})
	}
	// Linux disks are told by path; a device dimension would split a disk
	// into a new series whenever NVMe names change across reboots.
	t.Run("linux drops the device", func(t *testing.T) {
		if cfg := readAgentConfig(t, "linux.json"); !cfg.Metrics.MetricsCollected["disk"].DropDevice {
			t.Error("disk.drop_device = false, want true")
		}
	})
}

// readAgentConfig reads a sample from docs/cloudwatch-agent.
func readAgentConfig(t *testing.T, file string) agentConfig {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "cloudwatch-agent", file))
	if err != nil {
		t.Fatal(err)
	}
	var cfg agentConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return cfg
}
