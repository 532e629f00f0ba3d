package diskalarm

import (
	"fmt"
	"math"
	"time"
)

// Point is one datapoint of a series.
type Point struct {
	Time  time.Time
	Value float64
}

// Datapoints holds recent datapoints by series Key, newest first.
type Datapoints map[string][]Point

func (d Datapoints) newest(m Metric) time.Time {
	if pts := d[m.Key()]; len(pts) > 0 {
		return pts[0].Time
	}
	return time.Time{}
}

// Disk is one disk that gets alarms: the series they watch, and the size
// that chooses the Windows thresholds.
type Disk struct {
	InstanceID string
	Label      string
	OS         string
	Metric     Metric // free % (Windows) or used % (Linux)
	// SizeGiB is the Windows disk's size, when it can be derived; otherwise
	// SizeReason says why not and the smallest band's thresholds apply.
	SizeGiB    float64
	SizeKnown  bool
	SizeReason string
	// SizeKept: the band was kept from the disk's Warning alarm (keptSize),
	// not read this pass; SizeGiB is then the band's lower bound.
	SizeKept bool
	// Override holds the disk's thresholds from its instance's OverrideTag,
	// in place of its band's.
	Override *Override
}

// needsDatapoints lists the series whose datapoints resolving d needs:
// every Windows series when its size is read (sized), and otherwise only
// when there is more than one series to choose from.
func (d listedDisk) needsDatapoints(sized bool) []Metric {
	if d.OS == OSWindows && (sized || len(d.Usage) > 1) {
		return append(append([]Metric(nil), d.Usage...), d.Megabytes...)
	}
	if len(d.Usage) > 1 {
		return d.Usage
	}
	return nil
}

// resolve picks the series the alarms watch and derives the disk's size.
//
// When a disk has several series (the agent's metric names changed, or an
// appended dimension such as InstanceType did), the one with the newest
// datapoint is the live one; on a tie the operator's renamed metric, then
// the first by dimensions, so the choice is stable from run to run.
func resolve(d listedDisk, data Datapoints) Disk {
	best := d.Usage[0]
	for _, m := range d.Usage[1:] {
		bt, mt := data.newest(best), data.newest(m)
		switch {
		case mt.After(bt):
			best = m
		case mt.Equal(bt) && preferred(m, best):
			best = m
		}
	}
	disk := Disk{InstanceID: d.InstanceID, Label: d.Label, OS: d.OS, Metric: best}
	if d.OS != OSWindows {
		return disk
	}

	f, _, _ := familyOf(best.Name)
	var megabytes *Metric
	for i, m := range d.Megabytes {
		if m.Name == f.megabytes && m.dimensionKey() == best.dimensionKey() {
			megabytes = &d.Megabytes[i]
		}
	}
	if megabytes == nil {
		disk.SizeReason = fmt.Sprintf("no %q series with the same dimensions as %q", f.megabytes, best.Name)
		return disk
	}
	freePct, freeMB, ok := latestPair(data[best.Key()], data[megabytes.Key()])
	if !ok {
		disk.SizeReason = "no datapoints yet for both free-space metrics in the last " + sizeWindow.String()
		return disk
	}
	disk.SizeGiB, disk.SizeReason = DeriveSizeGiB(freeMB, freePct)
	disk.SizeKnown = disk.SizeReason == ""
	return disk
}

func preferred(a, b Metric) bool {
	fa, _, _ := familyOf(a.Name)
	fb, _, _ := familyOf(b.Name)
	if fa.renamed != fb.renamed {
		return fa.renamed
	}
	return a.Key() < b.Key()
}

// latestPair returns the values of the two series at their newest common
// timestamp: the size is only exact when both describe the same moment.
func latestPair(pct, mb []Point) (freePct, freeMB float64, ok bool) {
	byTime := make(map[int64]float64, len(mb))
	for _, p := range mb {
		byTime[p.Time.Unix()] = p.Value
	}
	var newest time.Time
	for _, p := range pct {
		if v, found := byTime[p.Time.Unix()]; found && p.Time.After(newest) {
			newest, freePct, freeMB, ok = p.Time, p.Value, v, true
		}
	}
	return freePct, freeMB, ok
}

// DeriveSizeGiB returns a Windows disk's size from its free space in MB
// (the agent's megabytes are MiB) and in percent: size = free ÷ (free% ÷ 100).
// A full disk (0 MB, 0 %) has no derivable size, nor do datapoints that
// contradict each other; reason says which. Averages over the same period
// keep the ratio exact, since free MB and free % move together.
func DeriveSizeGiB(freeMB, freePct float64) (sizeGiB float64, reason string) {
	switch {
	case math.IsNaN(freeMB) || math.IsNaN(freePct) || math.IsInf(freeMB, 0) || math.IsInf(freePct, 0):
		return 0, "the free-space datapoints are not numbers"
	case freePct <= 0 && freeMB <= 0:
		return 0, "the disk is full (0 MB and 0 % free), so its size cannot be derived"
	case freePct <= 0 || freeMB <= 0:
		return 0, fmt.Sprintf("the datapoints disagree (%g MB free but %g %% free)", freeMB, freePct)
	case freePct > 100:
		return 0, fmt.Sprintf("%g %% free is more than the whole disk", freePct)
	}
	return freeMB / (freePct / 100) / 1024, ""
}
