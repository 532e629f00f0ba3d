package diskalarm

import (
	"fmt"
	"slices"
	"time"
)

// The incremental pass. Discovery (DescribeInstances, ListMetrics) stays
// whole every run: it is cheap, and it is how a new instance is seen. The
// comparison of the suite's existing alarms with the fleet (the
// DescribeAlarms pages, and the GetMetricData reads they may lead to) is
// what grows with the fleet, so a scheduled run compares only:
//   - the buckets (Slices) due in the FULL_PASS cycle, so that every
//     existing alarm is compared within FULL_PASS, and those due for a
//     size refresh (SIZE_REFRESH);
//   - every instance launched in the last three hours (the window in which
//     its agent's first series appear), each with DescribeAlarms asked for
//     its own prefix: a new instance gets its alarms in the run that first
//     sees its disks, as before.
// A fleet small enough that its alarms fit in smallFleetPages pages is
// compared whole every run, as is every run but the schedule's first pass:
// a direct invocation compares its selection at once, a state change its
// instance, and a chain's continuation the whole fleet (a chain means many
// writes, so a full comparison is what it needs).

// Scope is the part of the fleet a pass compares.
type Scope struct {
	All bool // every alarm under the prefix
	// Split: All, read bucket by bucket (a fleet too large to read in one
	// go); otherwise All is one prefix.
	Split bool
	// Buckets are compared whole; Instances (new ones outside Buckets,
	// or a state change's) one prefix each.
	Buckets   []int
	Instances []string
	// At is the time the scope was taken at.
	At time.Time

	// The sets Covers asks, for a fleet of 100,000 series; nil: build.
	bucketSet   []bool
	instanceSet map[string]bool
}

// Covers reports whether the scope compares instance id.
func (s *Scope) Covers(id string) bool {
	if s.All {
		return true
	}
	if s.bucketSet == nil {
		s.bucketSet, s.instanceSet = make([]bool, buckets), map[string]bool{}
		for _, b := range s.Buckets {
			s.bucketSet[b] = true
		}
		for _, i := range s.Instances {
			s.instanceSet[i] = true
		}
	}
	b := Bucket(id)
	return s.instanceSet[id] || (b >= 0 && s.bucketSet[b])
}

func (s Scope) String() string {
	if s.All {
		return "all"
	}
	return fmt.Sprintf("%d of %d buckets and %d instances by prefix", len(s.Buckets), buckets, len(s.Instances))
}

// chunks are the alarm-name prefixes a pass reads, one DescribeAlarms
// paging each, in name order, but those its cursor has passed.
func (s Scope) chunks(prefix, cursor string) []string {
	var all []string
	switch {
	case s.All && !s.Split:
		all = []string{prefix}
	case s.All:
		for b := range buckets {
			all = append(all, BucketPrefix(prefix, b))
		}
	default:
		for _, b := range s.Buckets {
			all = append(all, BucketPrefix(prefix, b))
		}
		for _, id := range s.Instances {
			all = append(all, InstancePrefix(prefix, id))
		}
		slices.Sort(all)
	}
	return slices.DeleteFunc(all, func(c string) bool { return cursor >= chunkEnd(c) })
}

// chunkEnd sorts after every alarm name that starts with chunk: a cursor
// there has passed the chunk. U+10FFFF is the last code point, so the
// cursor stays UTF-8 in the continuation's JSON.
func chunkEnd(chunk string) string { return chunk + "\U0010FFFF" }

const (
	// newInstanceWindow: an instance launched this recently is compared
	// every run, so that its alarms follow its first series at once.
	newInstanceWindow = sizeWindow
	// smallFleetPages: a fleet whose alarms fit in this many DescribeAlarms
	// pages (some 400 instances of three disks) is compared whole every
	// run: 96 runs a day read fewer than 2,400 pages, 0.3 % of the daily
	// DescribeAlarms quota.
	smallFleetPages = 24
	// alarmsPerInstance estimates an instance's alarms (three disks).
	alarmsPerInstance = 6
)

// DefaultFullPass is FULL_PASS's default: every existing alarm is compared
// with the fleet once a day.
const DefaultFullPass = 24 * time.Hour

// ScopeOf decides what the pass of req compares at now, with live the
// instances that exist: see above. fullPass zero compares everything.
//
// A continuation of the schedule's chain takes its scope at the time its
// first pass took it (Request.At), so that the chain compares one slice.
func ScopeOf(req Request, live map[string]Instance, s Slices, fullPass, sizeRefresh time.Duration, now time.Time) Scope {
	origin, _ := req.Chain()
	big := len(live)*alarmsPerInstance > smallFleetPages*alarmPage
	if !req.At.IsZero() {
		now = req.At
	}
	switch {
	case req.InstanceID != "":
		return Scope{Instances: []string{req.InstanceID}, At: now}
	case origin != TriggerSchedule || fullPass <= 0 || !big || (req.Trigger == TriggerResume && req.At.IsZero()):
		return Scope{All: true, Split: big, At: now}
	}
	due := s.DueBuckets(fullPass, now)
	if sizeRefresh > 0 {
		for _, b := range s.DueBuckets(sizeRefresh, now) {
			if !slices.Contains(due, b) {
				due = append(due, b)
			}
		}
	}
	slices.Sort(due)
	sc := Scope{Buckets: due, At: now}
	for id, inst := range live {
		if now.Sub(inst.Launched) <= newInstanceWindow && !slices.Contains(due, Bucket(id)) {
			sc.Instances = append(sc.Instances, id)
		}
	}
	slices.Sort(sc.Instances)
	return sc
}
