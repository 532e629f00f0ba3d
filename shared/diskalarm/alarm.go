package diskalarm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Severities, in alarm names and descriptions.
const (
	Warning  = "Warning"
	Critical = "Critical"
)

// The alarms' shape: a 5-minute period, and 2 breaching periods out of 2, so
// that a short spike (a log rotation, a temp file) does not page anyone.
const (
	alarmPeriod       = 300
	evaluationPeriods = 2
	datapointsToAlarm = 2
	maxNameBytes      = 255  // PutMetricAlarm's limit
	maxDescription    = 1024 // PutMetricAlarm's limit
)

// DefaultPrefix starts every alarm name the suite owns. Ownership is by name:
// only alarms under the prefix are ever updated or deleted, so it must be
// distinctive. IAM scopes the function's writes to it as well.
const DefaultPrefix = "lambda-suite/disk-space/"

// TreatMissingData values CloudWatch accepts.
var TreatMissingDataValues = []string{"missing", "notBreaching", "breaching", "ignore"}

// DefaultTreatMissingData leaves an alarm without data in INSUFFICIENT_DATA:
// a stopped instance or agent is not a full disk, and pages no one.
const DefaultTreatMissingData = "missing"

// Owner tags are set when an alarm is created. CloudWatch ignores tags when
// PutMetricAlarm updates an alarm, so they are not compared.
var OwnerTags = []Dimension{
	{Name: "project", Value: "lambda-suite"},
	{Name: "capability", Value: "disk-alarm"},
	{Name: "managed-by", Value: "lambda-suite/ebs-alarms"},
}

// Alarm is a metric alarm as the suite wants it or as CloudWatch has it.
type Alarm struct {
	Name              string
	Description       string
	Namespace         string
	MetricName        string
	Dimensions        []Dimension
	Statistic         string // or an extended statistic (p90) or "metric math"
	Comparison        string
	Threshold         float64
	Period            int32
	EvaluationPeriods int32
	DatapointsToAlarm int32
	TreatMissingData  string
	ActionsEnabled    bool
	AlarmActions      []string
	OKActions         []string
	InsufficientData  []string
	Unit              string
	// Metrics, for a metric-math alarm (FILL_WITHIN's Warning), in place
	// of the metric fields above.
	Metrics []Query

	// InstanceID is the instance the alarm is about: from the disk for a
	// wanted alarm, from the name for an existing one ("" when the name is
	// not the suite's).
	InstanceID string
	// Disk is the disk's label, for wanted alarms (logs only).
	Disk string
	// UpdatedAt is when CloudWatch last had the alarm's configuration
	// written (AlarmConfigurationUpdatedTimestamp), for existing alarms.
	UpdatedAt time.Time
}

// AlarmSettings shape the alarms of every disk.
type AlarmSettings struct {
	Prefix           string
	TopicARN         string
	TreatMissingData string
	Thresholds       Thresholds
	// FillWithin, when set, gives each Warning alarm foresight: it also
	// fires when the disk will be full within it (FILL_WITHIN, foresight.go).
	FillWithin time.Duration
}

// Alarms returns the Warning and Critical alarms of a disk. instanceName is
// the instance's Name tag, shown in the description for the person paged.
func (s AlarmSettings) Alarms(d Disk, instanceName string) []Alarm {
	base := Alarm{
		Namespace:         d.Metric.Namespace,
		MetricName:        d.Metric.Name,
		Dimensions:        slices.Clone(d.Metric.Dimensions),
		Period:            alarmPeriod,
		EvaluationPeriods: evaluationPeriods,
		DatapointsToAlarm: datapointsToAlarm,
		TreatMissingData:  s.TreatMissingData,
		ActionsEnabled:    true,
		AlarmActions:      []string{s.TopicARN},
		OKActions:         []string{s.TopicARN},
		InstanceID:        d.InstanceID,
		Disk:              d.Label,
	}
	who := d.InstanceID
	if instanceName != "" {
		who = fmt.Sprintf("%s (%s)", d.InstanceID, instanceName)
	}
	var out []Alarm
	if d.OS == OSWindows {
		band, i := s.Thresholds.band(d)
		// The description names the band, never the size: a size that
		// wobbles from run to run would rewrite the alarm every time.
		why := bandText(s.Thresholds, i)
		switch {
		case d.Override != nil:
			band.WarningFreePercent, band.CriticalFreePercent, why = d.Override.Warning, d.Override.Critical, d.Override.text()
		case !d.SizeKnown:
			why = unknownSizeText + ", so the thresholds for " + s.Thresholds.bandLabel(0) + " apply."
		}
		for _, sev := range []struct {
			name      string
			threshold float64
		}{{Warning, band.WarningFreePercent}, {Critical, band.CriticalFreePercent}} {
			a := base
			a.Name = AlarmName(s.Prefix, d.InstanceID, d.Label, sev.name)
			a.Statistic = "Minimum" // the lowest free space in the period
			a.Comparison = "LessThanThreshold"
			a.Threshold = sev.threshold
			text := fmt.Sprintf("%s: free space on %s of %s is below %g %% for 10 minutes. %s",
				sev.name, d.Label, who, sev.threshold, why)
			if sev.name == Warning && s.FillWithin > 0 {
				a = withForesight(a, d, sev.threshold, s.FillWithin)
				text = fmt.Sprintf("%s: free space on %s of %s is below %g %% in an hour. %s", sev.name, d.Label, who, sev.threshold, why) + foresightText(s.FillWithin)
			}
			a.Description = description(text)
			out = append(out, a)
		}
		return out
	}
	linux, why := s.Thresholds.Linux, ""
	if d.Override != nil {
		linux, why = LinuxBand{WarningUsedPercent: d.Override.Warning, CriticalUsedPercent: d.Override.Critical}, " "+d.Override.text()
	}
	for _, sev := range []struct {
		name      string
		threshold float64
	}{{Warning, linux.WarningUsedPercent}, {Critical, linux.CriticalUsedPercent}} {
		a := base
		a.Name = AlarmName(s.Prefix, d.InstanceID, d.Label, sev.name)
		a.Statistic = "Maximum" // the highest use in the period
		a.Comparison = "GreaterThanThreshold"
		a.Threshold = sev.threshold
		text := fmt.Sprintf("%s: %s of %s is more than %g %% used for 10 minutes.%s", sev.name, d.Label, who, sev.threshold, why)
		if sev.name == Warning && s.FillWithin > 0 {
			a = withForesight(a, d, 100-sev.threshold, s.FillWithin)
			text = fmt.Sprintf("%s: %s of %s is more than %g %% used in an hour.%s", sev.name, d.Label, who, sev.threshold, why) + foresightText(s.FillWithin)
		}
		a.Description = description(text)
		out = append(out, a)
	}
	return out
}

func description(s string) string {
	s += " Managed by lambda-suite ebs-alarms: changes made by hand are overwritten, and the alarm is deleted when its instance or disk is gone."
	return awsid.Truncate(s, maxDescription)
}

// AlarmName is "<prefix><instance ID> <disk> <severity>", at most 255 bytes.
// A disk label too long to fit (a deep Linux mount path) is cut and followed
// by a hash of the whole label, so names stay unique and deterministic.
func AlarmName(prefix, instanceID, disk, severity string) string {
	name := prefix + instanceID + " " + disk + " " + severity
	if len(name) <= maxNameBytes {
		return name
	}
	sum := sha256.Sum256([]byte(disk))
	tail := "~" + hex.EncodeToString(sum[:4])
	room := maxNameBytes - len(prefix+instanceID+"  "+severity) - len(tail)
	return prefix + instanceID + " " + awsid.Truncate(disk, max(room, 0)) + tail + " " + severity
}

// InstancePrefix is the name prefix of one instance's alarms. The space
// keeps i-12345678 from matching i-12345678abcdef012.
func InstancePrefix(prefix, instanceID string) string { return prefix + instanceID + " " }

// instanceOfName returns the instance ID in one of the suite's alarm names,
// or "" when the name is not one the suite makes.
func instanceOfName(prefix, name string) string {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, " ")
	if !ok || !awsid.IsInstanceID(id) {
		return ""
	}
	return id
}

// ValidatePrefix checks an alarm-name prefix: it must leave room for the
// rest of the name, and hold no IAM wildcard, since IAM scopes the writes
// with "alarm:<prefix>*".
func ValidatePrefix(p string) error {
	switch {
	case p == "":
		return badInput("the alarm prefix is empty")
	case len(p) > 100:
		return badInput("the alarm prefix is %d bytes, want at most 100 to leave room for instance, disk and severity", len(p))
	case !utf8.ValidString(p):
		return badInput("the alarm prefix is not UTF-8")
	case strings.ContainsAny(p, "*?"):
		return badInput("the alarm prefix %q holds * or ?, which IAM reads as wildcards", p)
	case strings.IndexFunc(p, unicode.IsControl) >= 0:
		return badInput("the alarm prefix holds control characters")
	}
	return nil
}

// Changes lists how got differs from want, one item per field, empty when
// they are the same alarm. Dimensions and actions compare as sets, as
// CloudWatch treats them; tags are not compared (see OwnerTags).
func Changes(want, got Alarm) []string {
	var out []string
	diff := func(field string, got, want any) {
		out = append(out, fmt.Sprintf("%s %v → %v", field, got, want))
	}
	if want.Namespace != got.Namespace || want.MetricName != got.MetricName {
		diff("metric", got.Namespace+"/"+got.MetricName, want.Namespace+"/"+want.MetricName)
	}
	if !sameSet(dimensionStrings(want.Dimensions), dimensionStrings(got.Dimensions)) {
		diff("dimensions", dimensionStrings(got.Dimensions), dimensionStrings(want.Dimensions))
	}
	if want.Statistic != got.Statistic {
		diff("statistic", got.Statistic, want.Statistic)
	}
	if want.Comparison != got.Comparison {
		diff("comparison", got.Comparison, want.Comparison)
	}
	if math.Abs(want.Threshold-got.Threshold) > 1e-9 {
		diff("threshold", got.Threshold, want.Threshold)
	}
	if want.Period != got.Period || want.EvaluationPeriods != got.EvaluationPeriods || want.DatapointsToAlarm != got.DatapointsToAlarm {
		diff("evaluation", fmt.Sprintf("%ds %d of %d", got.Period, got.DatapointsToAlarm, got.EvaluationPeriods),
			fmt.Sprintf("%ds %d of %d", want.Period, want.DatapointsToAlarm, want.EvaluationPeriods))
	}
	if missingData(want.TreatMissingData) != missingData(got.TreatMissingData) {
		diff("treatMissingData", missingData(got.TreatMissingData), missingData(want.TreatMissingData))
	}
	if want.ActionsEnabled != got.ActionsEnabled {
		diff("actionsEnabled", got.ActionsEnabled, want.ActionsEnabled)
	}
	if !sameSet(want.AlarmActions, got.AlarmActions) {
		diff("alarmActions", got.AlarmActions, want.AlarmActions)
	}
	if !sameSet(want.OKActions, got.OKActions) {
		diff("okActions", got.OKActions, want.OKActions)
	}
	if !sameSet(want.InsufficientData, got.InsufficientData) {
		diff("insufficientDataActions", got.InsufficientData, want.InsufficientData)
	}
	if want.Unit != got.Unit {
		diff("unit", got.Unit, want.Unit)
	}
	if !slices.Equal(queryStrings(want.Metrics), queryStrings(got.Metrics)) {
		diff("metrics", queryStrings(got.Metrics), queryStrings(want.Metrics))
	}
	if want.Description != got.Description {
		out = append(out, "description")
	}
	return out
}

// missingData reads an omitted TreatMissingData as CloudWatch does.
func missingData(s string) string {
	if s == "" {
		return DefaultTreatMissingData
	}
	return s
}

// queryStrings renders a metric-math alarm's queries, sorted by ID: the
// order of Metrics does not change what the alarm watches.
func queryStrings(qs []Query) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.String()
	}
	slices.Sort(out)
	return out
}

func dimensionStrings(dims []Dimension) []string {
	out := make([]string, len(dims))
	for i, d := range dims {
		out[i] = d.Name + "=" + d.Value
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}
