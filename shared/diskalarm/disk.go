package diskalarm

import (
	"cmp"
	"slices"
	"strings"
)

// Metric names of the CloudWatch agent's disk metrics. On Windows the agent
// names a counter "<object> <counter>"; operators often rename the two
// LogicalDisk counters, and both spellings are in use across fleets.
const (
	MetricFreePercent        = "FreeStorageSpaceInPercent"
	MetricFreeMegabytes      = "FreeStorageSpaceInMB"
	MetricAgentFreePercent   = "LogicalDisk % Free Space"
	MetricAgentFreeMegabytes = "LogicalDisk Free Megabytes"
	MetricUsedPercent        = "disk_used_percent"
)

// metricNames are the names discovery lists, one ListMetrics query each.
var metricNames = []string{MetricFreePercent, MetricFreeMegabytes, MetricAgentFreePercent, MetricAgentFreeMegabytes, MetricUsedPercent}

// Operating systems, as the metric families tell them.
const (
	OSWindows = "windows"
	OSLinux   = "linux"
)

// Dimension names the agent sets.
const (
	dimInstanceID = "InstanceId"
	dimWindowsVol = "instance" // LogicalDisk counter instance: C:, D:, _Total, HarddiskVolume1
	dimPath       = "path"
	dimFSType     = "fstype"
)

// pseudoFilesystems hold no disk: memory, container layers, snap images.
var pseudoFilesystems = []string{"tmpfs", "devtmpfs", "overlay", "squashfs"}

// Dimension is one name=value pair of a metric.
type Dimension struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Metric is one series as ListMetrics shows it.
type Metric struct {
	Namespace  string      `json:"namespace"`
	Name       string      `json:"name"`
	Dimensions []Dimension `json:"dimensions"`
}

// Value returns the value of the dimension called name, or "".
func (m Metric) Value(name string) string {
	for _, d := range m.Dimensions {
		if d.Name == name {
			return d.Value
		}
	}
	return ""
}

// Key identifies the series: CloudWatch treats dimensions as a set, so they
// are sorted by name. Two metrics with the same Key are the same series.
func (m Metric) Key() string {
	var b strings.Builder
	b.WriteString(m.Namespace)
	b.WriteByte('\x00')
	b.WriteString(m.Name)
	for _, d := range sortedDimensions(m.Dimensions) {
		b.WriteByte('\x00')
		b.WriteString(d.Name)
		b.WriteByte('=')
		b.WriteString(d.Value)
	}
	return b.String()
}

// dimensionKey is Key without the metric name: a Windows disk's percent and
// megabytes series pair up when their dimensions are equal.
func (m Metric) dimensionKey() string {
	return Metric{Namespace: m.Namespace, Dimensions: m.Dimensions}.Key()
}

func sortedDimensions(dims []Dimension) []Dimension {
	out := slices.Clone(dims)
	slices.SortFunc(out, func(a, b Dimension) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Value, b.Value))
	})
	return out
}

// Dedupe drops repeated series, keeping the first of each: ListMetrics may
// list a series more than once.
func Dedupe(metrics []Metric) []Metric {
	seen := make(map[string]bool, len(metrics))
	out := metrics[:0:0]
	for _, m := range metrics {
		if k := m.Key(); !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

// family is one naming of a disk's metrics.
type family struct {
	os        string
	usage     string // the metric the alarms watch: free % (Windows), used % (Linux)
	megabytes string // Windows: free MB, to derive the size
	renamed   bool   // an operator's rename: preferred when both are listed
}

var families = []family{
	{os: OSWindows, usage: MetricFreePercent, megabytes: MetricFreeMegabytes, renamed: true},
	{os: OSWindows, usage: MetricAgentFreePercent, megabytes: MetricAgentFreeMegabytes},
	{os: OSLinux, usage: MetricUsedPercent},
}

// familyOf returns the family of a metric name and whether it is the
// megabytes metric of that family.
func familyOf(name string) (f family, megabytes, ok bool) {
	for _, f := range families {
		switch name {
		case f.usage:
			return f, false, true
		case f.megabytes:
			return f, true, true
		}
	}
	return family{}, false, false
}

// Skip is a disk (or a series) that gets no alarms, and why.
type Skip struct {
	InstanceID string `json:"instanceId"`
	Disk       string `json:"disk"`
	Reason     string `json:"reason"`
}

// Reasons a series is not a disk that can have alarms.
const (
	ReasonNoInstance      = "no InstanceId dimension (an aggregate across instances)"
	ReasonNoDiskDimension = "no instance or path dimension to tell the disk"
	ReasonWindowsTotal    = "_Total is the sum of every disk, not a disk"
	ReasonNoDriveLetter   = "a volume without a drive letter (system or recovery partition, full by design)"
	ReasonPseudoFS        = "a pseudo filesystem, not a disk"
	ReasonNoPercent       = "only the free-megabytes metric is reported; the alarms need the free-percent one"
)

// listedDisk is one disk with every series ListMetrics shows for it: more
// than one when the agent's configuration or the instance's appended
// dimensions (InstanceType after a resize) changed.
type listedDisk struct {
	InstanceID string
	Label      string // C: on Windows, the mount path on Linux
	OS         string
	Usage      []Metric
	Megabytes  []Metric // Windows only
}

func (d listedDisk) key() string { return d.InstanceID + "\x00" + d.OS + "\x00" + d.Label }

// groupDisks sorts the listed series of the instances in scope into disks.
// Series of other instances are ignored; series of scoped instances that
// are not disks are returned as skips.
func groupDisks(metrics []Metric, inScope func(instanceID string) bool) ([]listedDisk, []Skip) {
	byKey := map[string]*listedDisk{}
	var order []string
	var skips []Skip
	for _, m := range Dedupe(metrics) {
		f, megabytes, ok := familyOf(m.Name)
		if !ok {
			continue
		}
		id := m.Value(dimInstanceID)
		if id == "" || !inScope(id) {
			continue
		}
		label, reason := diskLabel(f.os, m)
		if reason != "" {
			skips = append(skips, Skip{InstanceID: id, Disk: label, Reason: reason})
			continue
		}
		d := listedDisk{InstanceID: id, Label: label, OS: f.os}
		k := d.key()
		if byKey[k] == nil {
			byKey[k] = &d
			order = append(order, k)
		}
		if megabytes {
			byKey[k].Megabytes = append(byKey[k].Megabytes, m)
		} else {
			byKey[k].Usage = append(byKey[k].Usage, m)
		}
	}
	var disks []listedDisk
	for _, k := range order {
		d := *byKey[k]
		if len(d.Usage) == 0 {
			skips = append(skips, Skip{InstanceID: d.InstanceID, Disk: d.Label, Reason: ReasonNoPercent})
			continue
		}
		disks = append(disks, d)
	}
	slices.SortFunc(disks, func(a, b listedDisk) int { return strings.Compare(a.key(), b.key()) })
	return disks, dedupeSkips(skips)
}

// diskLabel names the disk a series measures, or says why it is no disk.
func diskLabel(os string, m Metric) (label, reason string) {
	if os == OSWindows {
		label = m.Value(dimWindowsVol)
		switch {
		case label == "":
			return "", ReasonNoDiskDimension
		case label == "_Total":
			return label, ReasonWindowsTotal
		case strings.HasPrefix(label, "HarddiskVolume"):
			return label, ReasonNoDriveLetter
		}
		return label, ""
	}
	label = m.Value(dimPath)
	if label == "" {
		return "", ReasonNoDiskDimension
	}
	if fs := m.Value(dimFSType); slices.Contains(pseudoFilesystems, fs) {
		return label, ReasonPseudoFS + " (" + fs + ")"
	}
	return label, ""
}

// A disk's two series (percent and megabytes) are skipped together; report
// the disk once.
func dedupeSkips(skips []Skip) []Skip {
	slices.SortFunc(skips, func(a, b Skip) int {
		return cmp.Or(strings.Compare(a.InstanceID, b.InstanceID), strings.Compare(a.Disk, b.Disk), strings.Compare(a.Reason, b.Reason))
	})
	return slices.Compact(skips)
}
