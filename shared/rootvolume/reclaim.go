package rootvolume

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Prices are list prices of EBS storage, in USD per GiB-month, by volume
// type and for snapshots (standard tier), in one Region.
type Prices struct {
	// Source says where the figures come from and when they were read.
	Source   string
	Volume   map[string]float64
	Snapshot float64
}

// DefaultPrices are us-east-1's list prices of EBS storage
// (https://aws.amazon.com/ebs/pricing/, storage only: provisioned IOPS and
// throughput are not counted), as read for this table on 2026-12-08. They
// were not re-checked against the live page from the build machine; set
// RECLAIM_PRICES for another Region or a newer price list.
var DefaultPrices = Prices{
	Source: "us-east-1 EBS list prices (aws.amazon.com/ebs/pricing, storage only, 2026-12-08)",
	Volume: map[string]float64{
		"gp3": 0.08, "gp2": 0.10, "io1": 0.125, "io2": 0.125, "st1": 0.045, "sc1": 0.015, "standard": 0.05,
	},
	Snapshot: 0.05,
}

// PriceKeySnapshot is RECLAIM_PRICES's key for the snapshot price.
const PriceKeySnapshot = "snapshot"

// ParsePrices reads RECLAIM_PRICES: "type=USD,…" (per GiB-month, for
// gp3, gp2, io1, io2, st1, sc1, standard and snapshot), each overriding
// DefaultPrices' figure. "" keeps the defaults.
func ParsePrices(s string) (Prices, error) {
	p := Prices{Source: DefaultPrices.Source, Volume: maps.Clone(DefaultPrices.Volume), Snapshot: DefaultPrices.Snapshot}
	if strings.TrimSpace(s) == "" {
		return p, nil
	}
	var set []string
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		price, err := strconv.ParseFloat(v, 64)
		switch {
		case !ok:
			return Prices{}, fmt.Errorf("%q is not type=USD", pair)
		case err != nil || price < 0 || price > 100 || math.IsNaN(price):
			return Prices{}, fmt.Errorf("%s: %q is not a price in USD per GiB-month (0-100)", k, v)
		case k == PriceKeySnapshot:
			p.Snapshot = price
		case p.Volume[k] != 0:
			p.Volume[k] = price
		default:
			return Prices{}, fmt.Errorf("%q is not %s or a volume type (%s)", k, PriceKeySnapshot, strings.Join(slices.Sorted(maps.Keys(p.Volume)), ", "))
		}
		set = append(set, k)
	}
	p.Source = "RECLAIM_PRICES (" + strings.Join(set, ", ") + "), else " + DefaultPrices.Source
	return p, nil
}

// Reclaim is what a run's deletes free: the GiB of volumes by type, the
// GiB of snapshots, and an estimate of the monthly saving.
type Reclaim struct {
	VolumeGiB map[string]int64 `json:"volumeGiBByType"`
	// SnapshotGiB is an upper bound: the sum of the snapshots' volume
	// sizes. A snapshot is incremental and EC2's API does not say how much
	// of it is its own, so the real figure is smaller.
	SnapshotGiB int64 `json:"snapshotGiBUpperBound"`
	// EstimatedMonthlySavingUSD prices VolumeGiB and SnapshotGiB with
	// PriceSource's table (so the snapshot part is an upper bound too).
	EstimatedMonthlySavingUSD float64 `json:"estimatedMonthlySavingUSD"`
	PriceSource               string  `json:"priceSource"`
}

// TotalGiB is the volume GiB and the snapshot upper bound together.
func (r Reclaim) TotalGiB() int64 {
	var n int64
	for _, g := range r.VolumeGiB {
		n += g
	}
	return n + r.SnapshotGiB
}

// Line says the reclaim in one line, as the notification tells it.
func (r Reclaim) Line(dryRun bool) string {
	verb := "Reclaimed"
	if dryRun {
		verb = "Would reclaim"
	}
	var types []string
	for _, t := range slices.Sorted(maps.Keys(r.VolumeGiB)) {
		types = append(types, fmt.Sprintf("%s %d", t, r.VolumeGiB[t]))
	}
	vols := "no volumes"
	if len(types) > 0 {
		vols = fmt.Sprintf("%d GiB of volumes (%s GiB)", r.TotalGiB()-r.SnapshotGiB, strings.Join(types, ", "))
	}
	return fmt.Sprintf("%s %s and at most %d GiB of snapshots: about $%.2f a month (%s; snapshots counted at their volume's size, an upper bound)",
		verb, vols, r.SnapshotGiB, r.EstimatedMonthlySavingUSD, r.PriceSource)
}

// ReclaimOf prices the volumes and snapshots with these IDs from the facts
// the plan rested on. A volume type the table lacks is counted in GiB and
// priced as gp2, the dearest general-purpose type, and its name says so.
func ReclaimOf(in PlanInput, volumes, snapshots []string, p Prices) Reclaim {
	if p.Volume == nil {
		p = DefaultPrices
	}
	r := Reclaim{VolumeGiB: map[string]int64{}, PriceSource: p.Source}
	usd := 0.0
	for _, id := range volumes {
		v, ok := in.Volumes[id]
		if !ok {
			continue
		}
		price, known := p.Volume[v.Type]
		if !known {
			price = p.Volume["gp2"]
		}
		r.VolumeGiB[cmp.Or(v.Type, "unknown")] += int64(v.SizeGiB)
		usd += float64(v.SizeGiB) * price
	}
	sizes := map[string]int32{}
	for _, s := range in.Snapshots {
		sizes[s.ID] = s.VolumeSizeGiB
	}
	for _, id := range snapshots {
		r.SnapshotGiB += int64(sizes[id])
	}
	usd += float64(r.SnapshotGiB) * p.Snapshot
	r.EstimatedMonthlySavingUSD = math.Round(usd*100) / 100
	return r
}
