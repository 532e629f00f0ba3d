package diskalarm

import (
	"strings"
	"time"
)

// What a pass keeps from the last one, so that its reads follow change
// and not the fleet: a Windows disk's size band, read from its Warning
// alarm, and when that alarm was last written.
//
// The band is kept in the alarm's description ("Thresholds for disks of
// 500 GiB and over.", or "The disk's size is unknown, …"), which the
// alarm already carries and DescribeAlarms returns; CloudWatch does not
// return an alarm's tags with it (MetricAlarm has no Tags,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricAlarm.html),
// so a tag would cost a ListTagsForResource call per alarm. The time is
// the alarm's AlarmConfigurationUpdatedTimestamp. Alarms written by the
// previous version carry the same descriptions, so they are adopted as
// they are.

// keptSize is the size band a disk's Warning alarm was written with.
type keptSize struct {
	Known bool // false: the size was unknown when it was read
	Band  int  // index into Thresholds.Windows, when Known
	At    time.Time
}

// keptSizes returns the kept band of every Windows Warning alarm in have,
// by alarm name. An alarm whose description names no band of t (written
// under other bands) keeps nothing: its disk is read again.
func keptSizes(have []Alarm, t Thresholds) map[string]keptSize {
	out := map[string]keptSize{}
	for _, a := range have {
		if !strings.HasSuffix(a.Name, " "+Warning) || (a.Comparison != "LessThanThreshold" && len(a.Metrics) == 0) {
			continue
		}
		if strings.Contains(a.Description, unknownSizeText) {
			out[a.Name] = keptSize{At: a.UpdatedAt}
			continue
		}
		for i := range t.Windows {
			if strings.Contains(a.Description, bandText(t, i)) {
				out[a.Name] = keptSize{Known: true, Band: i, At: a.UpdatedAt}
			}
		}
	}
	return out
}

// The description's words for a band, and for a disk of unknown size.
const unknownSizeText = "The disk's size is unknown"

func bandText(t Thresholds, i int) string { return "Thresholds for " + t.bandLabel(i) + "." }

// apply gives d the kept band k in place of a size read this pass.
func (k keptSize) apply(d *Disk, t Thresholds) {
	d.SizeKnown, d.SizeKept, d.SizeReason, d.SizeGiB = k.Known, true, "", 0
	if k.Known {
		d.SizeGiB = t.Windows[k.Band].MinSizeGiB
	}
}

// readsSizes reports whether every disk's size is read whatever is kept:
// in a chain a person or a state change started, which wants the fleet as
// it is now; the schedule's chains keep what they can (SIZE_REFRESH).
func (q Request) readsSizes() bool {
	origin, _ := q.Chain()
	return origin != TriggerSchedule
}

// Slices divide the fleet by instance ID, so that a scheduled run reads
// only some of it: bucket b (0 to 255) holds the instances whose ID starts
// i-<b in two hex digits>, and their alarms, which share the name prefix
// <ALARM_PREFIX>i-<b>. Instance IDs are random hex, so the buckets are of
// about the same size. A cycle (FULL_PASS for the comparison, SIZE_REFRESH
// for the sizes) is cut into slots of Slot, one scheduled run each; the
// buckets are spread evenly over the slots, so each is due in one slot a
// cycle.
type Slices struct {
	Slot time.Duration // the schedule's interval
}

// DefaultSizeRefresh is SIZE_REFRESH's default: a disk's size is read
// again once a day.
const DefaultSizeRefresh = 24 * time.Hour

// DefaultSlot is the stacks' schedule, rate(15 minutes).
const DefaultSlot = 15 * time.Minute

const buckets = 256

// Bucket returns the bucket of an instance ID (-1 for one that is not).
func Bucket(instanceID string) int {
	rest, ok := strings.CutPrefix(instanceID, "i-")
	if !ok || len(rest) < 2 {
		return -1
	}
	b := 0
	for _, c := range rest[:2] {
		switch {
		case c >= '0' && c <= '9':
			b = b*16 + int(c-'0')
		case c >= 'a' && c <= 'f':
			b = b*16 + int(c-'a') + 10
		default:
			return -1
		}
	}
	return b
}

// BucketPrefix is the alarm-name prefix of bucket b's alarms.
func BucketPrefix(prefix string, b int) string {
	const hex = "0123456789abcdef"
	return prefix + "i-" + string(hex[b/16]) + string(hex[b%16])
}

func (s Slices) slot() time.Duration {
	if s.Slot <= 0 {
		return DefaultSlot
	}
	return s.Slot
}

// Due reports whether bucket b is due at now in a cycle of the given
// length: the cycle has cycle/Slot slots (at least one), and bucket b
// falls in slot b·slots/256.
func (s Slices) Due(b int, cycle time.Duration, now time.Time) bool {
	slots := max(int64(cycle/s.slot()), 1)
	k := (now.UnixNano() / int64(s.slot())) % slots
	return int64(b)*slots/buckets == k
}

// DueBuckets lists the buckets due at now in a cycle of the given length.
func (s Slices) DueBuckets(cycle time.Duration, now time.Time) []int {
	var out []int
	for b := range buckets {
		if s.Due(b, cycle, now) {
			out = append(out, b)
		}
	}
	return out
}

// sizeDue reports whether a Windows disk's kept size k is to be read again
// at now: its bucket is due in the SIZE_REFRESH cycle, and its alarm was
// not written in the last half of the cycle (when it was written, its size
// was read or kept). A disk resized after it was read moves to its new
// band at its bucket's next slot, at most one refresh later; a zero
// refresh reads every disk every run.
func (s Slices) sizeDue(instanceID string, k keptSize, refresh time.Duration, now time.Time) bool {
	if refresh <= 0 {
		return true
	}
	return s.Due(Bucket(instanceID), refresh, now) && now.Sub(k.At) >= refresh/2
}
