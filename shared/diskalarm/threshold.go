package diskalarm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Thresholds are the alarm bands, set as one JSON document (DISK_THRESHOLDS):
//
//	{"windows": [{"minSizeGiB": 0,   "warningFreePercent": 30, "criticalFreePercent": 20},
//	             {"minSizeGiB": 500, "warningFreePercent": 15, "criticalFreePercent": 10}],
//	 "linux":   {"warningUsedPercent": 80, "criticalUsedPercent": 90}}
//
// A Windows disk takes the band with the largest minSizeGiB not above its
// size; a disk whose size cannot be derived takes the first band (minSizeGiB
// 0), the strictest for big disks, so it is never left unwatched.
type Thresholds struct {
	Windows []WindowsBand `json:"windows"`
	Linux   LinuxBand     `json:"linux"`
}

// WindowsBand alarms on free space in percent, below the thresholds.
type WindowsBand struct {
	MinSizeGiB          float64 `json:"minSizeGiB"`
	WarningFreePercent  float64 `json:"warningFreePercent"`
	CriticalFreePercent float64 `json:"criticalFreePercent"`
}

// LinuxBand alarms on used space in percent, above the thresholds.
type LinuxBand struct {
	WarningUsedPercent  float64 `json:"warningUsedPercent"`
	CriticalUsedPercent float64 `json:"criticalUsedPercent"`
}

// DefaultThresholds: below 500 GiB warn under 30 % free and page under 20 %;
// from 500 GiB, where 15 % is still 75 GiB, warn under 15 % and page under
// 10 %. Linux: warn above 80 % used, page above 90 %.
func DefaultThresholds() Thresholds {
	return Thresholds{
		Windows: []WindowsBand{
			{MinSizeGiB: 0, WarningFreePercent: 30, CriticalFreePercent: 20},
			{MinSizeGiB: 500, WarningFreePercent: 15, CriticalFreePercent: 10},
		},
		Linux: LinuxBand{WarningUsedPercent: 80, CriticalUsedPercent: 90},
	}
}

// ParseThresholds reads the JSON document; an empty string means the
// defaults, and a section left out keeps its default. Unknown fields are
// refused, so a misspelt band is not silently ignored.
func ParseThresholds(s string) (Thresholds, error) {
	t := DefaultThresholds()
	if strings.TrimSpace(s) == "" {
		return t, nil
	}
	var doc struct {
		Windows *[]WindowsBand `json:"windows"`
		Linux   *LinuxBand     `json:"linux"`
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(s)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return t, fmt.Errorf("not the thresholds JSON document: %v", err)
	}
	if dec.More() {
		return t, errors.New("trailing data after the JSON document")
	}
	if doc.Windows != nil {
		t.Windows = *doc.Windows
	}
	if doc.Linux != nil {
		t.Linux = *doc.Linux
	}
	return t, t.Validate()
}

// Validate reports every inconsistent band at once.
func (t Thresholds) Validate() error {
	var errs []error
	pct := func(what string, v float64) {
		if math.IsNaN(v) || v <= 0 || v >= 100 {
			errs = append(errs, fmt.Errorf("%s %g: want a percentage between 0 and 100", what, v))
		}
	}
	if len(t.Windows) == 0 {
		errs = append(errs, errors.New("windows: want at least one band"))
	}
	for i, b := range t.Windows {
		where := fmt.Sprintf("windows[%d]", i)
		pct(where+".warningFreePercent", b.WarningFreePercent)
		pct(where+".criticalFreePercent", b.CriticalFreePercent)
		if b.CriticalFreePercent >= b.WarningFreePercent {
			errs = append(errs, fmt.Errorf("%s: criticalFreePercent %g must be below warningFreePercent %g (critical is less free space)", where, b.CriticalFreePercent, b.WarningFreePercent))
		}
		switch {
		case i == 0 && b.MinSizeGiB != 0:
			errs = append(errs, fmt.Errorf("%s.minSizeGiB %g: the first band must start at 0; it also serves disks of unknown size", where, b.MinSizeGiB))
		case i > 0 && !(b.MinSizeGiB > t.Windows[i-1].MinSizeGiB):
			errs = append(errs, fmt.Errorf("%s.minSizeGiB %g: want bands in increasing minSizeGiB order", where, b.MinSizeGiB))
		}
	}
	pct("linux.warningUsedPercent", t.Linux.WarningUsedPercent)
	pct("linux.criticalUsedPercent", t.Linux.CriticalUsedPercent)
	if t.Linux.CriticalUsedPercent <= t.Linux.WarningUsedPercent {
		errs = append(errs, fmt.Errorf("linux: criticalUsedPercent %g must be above warningUsedPercent %g", t.Linux.CriticalUsedPercent, t.Linux.WarningUsedPercent))
	}
	return errors.Join(errs...)
}

// band returns the Windows band for a disk, and its index.
func (t Thresholds) band(d Disk) (WindowsBand, int) {
	i := 0
	if d.SizeKnown {
		for j, b := range t.Windows {
			if d.SizeGiB >= b.MinSizeGiB {
				i = j
			}
		}
	}
	return t.Windows[i], i
}

// bandLabel describes band i for people: "disks under 500 GiB".
func (t Thresholds) bandLabel(i int) string {
	lo := t.Windows[i].MinSizeGiB
	switch {
	case len(t.Windows) == 1:
		return "disks of any size"
	case i == len(t.Windows)-1:
		return fmt.Sprintf("disks of %g GiB and over", lo)
	case i == 0:
		return fmt.Sprintf("disks under %g GiB", t.Windows[1].MinSizeGiB)
	}
	return fmt.Sprintf("disks of %g GiB up to %g GiB", lo, t.Windows[i+1].MinSizeGiB)
}
