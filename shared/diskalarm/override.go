package diskalarm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// OverrideTag is the instance tag that overrides the thresholds of the
// disks it names: "C:=20/10;/data=85/95" is Warning/Critical in each
// disk's own unit, % free on Windows (Critical below Warning) and % used
// on Linux (Critical above Warning). A disk it does not name keeps its
// band. A value that does not read leaves the instance's alarms as they
// were: nothing is written for it until the tag is fixed.
const OverrideTag = "lambda-suite:disk-thresholds"

// Override is one disk's thresholds from the tag.
type Override struct {
	Warning, Critical float64
}

// ParseOverrides reads the tag's value, by disk label. Every error is an
// InputError naming the part at fault.
func ParseOverrides(v string) (map[string]Override, error) {
	out := map[string]Override{}
	for part := range strings.SplitSeq(v, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		i := strings.LastIndex(part, "=")
		if i <= 0 {
			return nil, badInput("%s %q: want <disk>=<warning>/<critical>, such as C:=20/10 or /data=85/95", OverrideTag, part)
		}
		disk, nums := strings.TrimSpace(part[:i]), part[i+1:]
		w, c, ok := strings.Cut(nums, "/")
		warning, werr := strconv.ParseFloat(strings.TrimSpace(w), 64)
		critical, cerr := strconv.ParseFloat(strings.TrimSpace(c), 64)
		switch {
		case !ok || werr != nil || cerr != nil:
			return nil, badInput("%s %q: want <warning>/<critical> percentages after the =", OverrideTag, part)
		case !inPercent(warning) || !inPercent(critical):
			return nil, badInput("%s %q: percentages must be between 0 and 100", OverrideTag, part)
		case warning == critical:
			return nil, badInput("%s %q: warning and critical must differ", OverrideTag, part)
		}
		if _, dup := out[disk]; dup {
			return nil, badInput("%s names %q twice", OverrideTag, disk)
		}
		out[disk] = Override{Warning: warning, Critical: critical}
	}
	return out, nil
}

func inPercent(v float64) bool { return !math.IsNaN(v) && v > 0 && v < 100 }

// check says whether o fits a disk of os: on Windows the thresholds are
// % free (Critical below Warning), on Linux % used (Critical above).
func (o Override) check(os, disk string) error {
	if os == OSWindows && o.Critical >= o.Warning {
		return badInput("%s %s=%g/%g: on Windows the thresholds are %% free, so critical must be below warning", OverrideTag, disk, o.Warning, o.Critical)
	}
	if os == OSLinux && o.Critical <= o.Warning {
		return badInput("%s %s=%g/%g: on Linux the thresholds are %% used, so critical must be above warning", OverrideTag, disk, o.Warning, o.Critical)
	}
	return nil
}

// overridesOf reads an instance's overrides for its listed disks; an error
// means the instance's alarms are left as they were.
func overridesOf(inst Instance, disks []listedDisk) (map[string]Override, error) {
	v, ok := inst.Tags[OverrideTag]
	if !ok {
		return nil, nil
	}
	o, err := ParseOverrides(v)
	if err != nil {
		return nil, err
	}
	for _, d := range disks {
		if ov, named := o[d.Label]; named {
			if err := ov.check(d.OS, d.Label); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

func (o Override) text() string {
	return fmt.Sprintf("Thresholds %g/%g from the instance's %s tag.", o.Warning, o.Critical, OverrideTag)
}
