package diskalarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
)

// maxListed caps the lists in a Result: a 20,000-instance fleet can have
// tens of thousands of skipped series, and a Lambda response is limited to
// 6 MB. Totals are always complete.
const maxListed = 100

// ErrOutOfTime marks a run that the deadline stopped before it could make
// any progress: its reads did not finish in time, or no write could be
// tried. A longer timeout, not a retry, is the cure.
var ErrOutOfTime = errors.New("out of time")

// Triggers, as results and logs name them.
const (
	TriggerDirect     = "direct"
	TriggerRunning    = "running"
	TriggerTerminated = "terminated"
	TriggerSchedule   = "schedule"
	TriggerResume     = "resume"
)

// Request is one reconcile run.
type Request struct {
	Trigger string
	// Selector says which instances get alarms.
	Selector Selector
	// InstanceID, when set, limits the run to that one instance (state-change
	// events); otherwise the run covers the whole fleet.
	InstanceID string
	// TopicARN receives the alarms' notifications; required when the
	// selector can select anything.
	TopicARN string
	// Cursor resumes a run that stopped before its deadline: writes start
	// after this alarm name.
	Cursor string
	// Origin is the trigger that started the run's chain (direct,
	// schedule, running or terminated; empty: Trigger), and Pass counts
	// the chain's runs, the first being 1 (zero: 1). A resumed run's come
	// from its sealed continuation (Resume.Trigger and Resume.Pass).
	Origin string
	Pass   int
	// At, in a continuation of the schedule's chain, is the time its first
	// pass took its Scope at: the chain compares the same slice.
	At time.Time
}

// Validate checks a request before any call is made.
func (q Request) Validate() error {
	var errs []error
	if q.Selector.NamePattern != "" {
		errs = append(errs, ValidatePattern(q.Selector.NamePattern))
	}
	if !q.Selector.Empty() {
		errs = append(errs, checkTopic(q.TopicARN))
	}
	if q.InstanceID != "" && !awsid.IsInstanceID(q.InstanceID) {
		errs = append(errs, badInput("%q is not an EC2 instance ID (i-…)", q.InstanceID))
	}
	if len(q.Cursor) > maxNameBytes {
		errs = append(errs, badInput("the cursor is longer than an alarm name"))
	}
	return errors.Join(errs...)
}

// Failure is a write that did not succeed.
type Failure struct {
	Alarm string `json:"alarm"`
	Error string `json:"error"`
}

// Result is what a run returns and logs.
type Result struct {
	Trigger   string `json:"trigger"`
	Scope     string `json:"scope"`
	Selection string `json:"selection"`
	Instances int    `json:"instances"` // selected
	Disks     int    `json:"disks"`     // given alarms
	Created   int    `json:"created"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Deleted   int    `json:"deleted"`
	// Kept counts existing alarms this run did not want but left alone.
	Kept int `json:"kept"`
	// Skipped lists series of selected instances that are not disks with
	// alarms (up to 100); SkippedTotal counts them all.
	Skipped      []Skip `json:"skipped"`
	SkippedTotal int    `json:"skippedTotal"`
	// SizeUnknown lists Windows disks alarmed with the smallest band's
	// thresholds because their size could not be derived (up to 100).
	SizeUnknown []Skip `json:"sizeUnknown"`
	// SizesRead counts the Windows disks whose size this run read through
	// GetMetricData; the others' bands were kept (SIZE_REFRESH).
	SizesRead int       `json:"sizesRead"`
	Failed    []Failure `json:"failed"`
	// Incomplete is set when the deadline came before every write was
	// tried; Cursor is the last alarm name tried, to resume after, and
	// Left counts the writes not tried.
	Incomplete bool   `json:"incomplete,omitempty"`
	Cursor     string `json:"cursor,omitempty"`
	Left       int    `json:"left,omitempty"`
	// Continued is set when a continuation was queued for the rest.
	Continued bool `json:"continued,omitempty"`
	// Writes counts the write calls this run made (PutMetricAlarm and
	// DeleteAlarms), failed ones included.
	Writes int    `json:"writes"`
	Note   string `json:"note,omitempty"`
	// Given is the time to the deadline when the run started (zero
	// without one), and Margin the part of it the run kept free to finish:
	// the last batch of deletes, the hand-over and the answer.
	Given  time.Duration `json:"-"`
	Margin time.Duration `json:"-"`
	// Compared says which part of the fleet's alarms the run compared
	// (Scope); Calls counts its calls per API.
	Compared string `json:"compared"`
	Calls    Calls  `json:"calls"`
	// ScopeAt is the time the pass's Scope was taken at, which a
	// continuation of the schedule's chain compares again.
	ScopeAt time.Time `json:"-"`
}

// Reconciler keeps the suite's disk alarms in step with the fleet.
type Reconciler struct {
	EC2        ec2API
	CloudWatch cloudWatchAPI
	// Namespace is the CloudWatch agent's namespace (CWAgent by default).
	Namespace string
	// Alarms shapes every alarm; its TopicARN is each request's.
	Alarms AlarmSettings
	// RecentOnly lists only series with data in the last three hours
	// (ListMetrics RecentlyActive=PT3H), so that a detached disk's or a
	// resized instance's old series stop counting within hours, not weeks.
	RecentOnly bool
	// SizeRefresh is how long a Windows disk's kept size band serves the
	// schedule's runs before it is read again (SIZE_REFRESH); zero reads
	// every disk every run. Slices spreads the reads over the runs.
	SizeRefresh time.Duration
	Slices      Slices
	// FullPass is the time within which the schedule's runs compare every
	// existing alarm, a slice a run (FULL_PASS, ScopeOf); zero compares
	// everything every run.
	FullPass time.Duration
	// Pacers pace each API's calls by name (QuotaPacers: QUOTA_SHARE of
	// its quota); an API without one is not paced here.
	Pacers map[string]Pacer
	// Limiter paces the writes (PutMetricAlarm and DeleteAlarms calls
	// alike); nil means no pacing.
	Limiter Pacer
	// DeadlineMargin, when set, is kept free before the context's
	// deadline; zero means the margin that scales with the time given
	// (deadline.Margin: a fifth of it, at most 30 s).
	DeadlineMargin time.Duration
	Now            func() time.Time
	Log            *slog.Logger
}

// Reconcile runs one pass: it reads the instances, the suite's alarms and
// the disks' metrics, plans the difference, and writes it. A read error is
// returned before anything is written (a retry can help); write failures
// are reported in the result and the next run tries them again.
func (r *Reconciler) Reconcile(ctx context.Context, req Request) (Result, error) {
	res := Result{Trigger: req.Trigger, Scope: "fleet", Selection: req.Selector.String(),
		Skipped: []Skip{}, SizeUnknown: []Skip{}, Failed: []Failure{}, Calls: Calls{}}
	r = r.metered(res.Calls)
	if req.InstanceID != "" {
		res.Scope = "instance " + req.InstanceID
	}
	if err := req.Validate(); err != nil {
		return res, err
	}
	if req.Selector.Empty() {
		res.Note = "no instance name pattern or opt-in tag is configured, so no instance is selected; only alarms of instances that are gone are deleted"
	}
	log := r.logger().With("trigger", req.Trigger, "scope", res.Scope)

	// Reads and writes run on the budget; the margin it keeps is for the
	// last batch of deletes, the hand-over and the answer.
	if dl, ok := ctx.Deadline(); ok {
		res.Given = time.Until(dl)
	}
	run := deadline.StartKeeping(ctx, r.DeadlineMargin)
	defer run.Stop()
	work, margin := run.Work(), run.Margin()
	res.Margin = margin
	outOfTime := func(err error) error {
		if !cutByBudget(work, err) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %w: the reads did not finish before the deadline less the %s kept to finish; raise the function's timeout or select fewer instances", ErrOutOfTime, err, margin.Round(time.Millisecond))
	}

	live, err := r.instances(work, req.InstanceID)
	if err != nil {
		return res, outOfTime(err)
	}
	selected := map[string]bool{}
	for id, inst := range live {
		if req.Selector.Selects(inst) {
			selected[id] = true
		}
	}
	res.Instances = len(selected)

	now := r.now()
	scope := ScopeOf(req, live, r.Slices, r.FullPass, r.SizeRefresh, now)
	res.Compared, res.ScopeAt = scope.String(), scope.At
	var listed []listedDisk
	if len(selected) > 0 {
		metrics, err := r.listMetrics(work, req.InstanceID)
		if err != nil {
			return res, outOfTime(err)
		}
		var skips []Skip
		listed, skips = groupDisks(metrics, func(id string) bool { return selected[id] && scope.Covers(id) })
		for _, s := range skips {
			res.Skipped = appendCapped(res.Skipped, s)
		}
		res.SkippedTotal = len(skips)
		if len(skips) > 0 {
			// One line for them all: a fleet of Windows instances has a
			// _Total series each, and one line apiece would flood the log.
			log.InfoContext(ctx, "series skipped", "total", len(skips), "byReason", groupSkips(skips))
		}
	}

	// Chunk by chunk in name order: read the chunk's alarms, plan, write.
	// A pass reads only as far as it writes, so a resumed pass does not
	// read again what its chain has passed.
	w := r.newWriter(log, req.Cursor, &res)
	for _, chunk := range scope.chunks(r.Alarms.Prefix, req.Cursor) {
		var disks []listedDisk
		disks, listed = takeChunk(listed, r.Alarms.Prefix, chunk)
		plan, err := r.planChunk(ctx, work, log, req, chunk, disks, live, selected, &res)
		switch {
		case err != nil && w.progressed() && cutByBudget(work, err) && ctx.Err() == nil:
			// The deadline came in the reads, after some progress: hand on.
			w.cut = true
		case err != nil:
			w.finish(ctx, work, margin)
			return res, outOfTime(err)
		}
		if w.cut || !w.write(work, plan) || !w.endChunk(work, chunk) {
			break
		}
	}
	w.finish(ctx, work, margin)
	return res, nil
}

// cutByBudget reports whether err is the budget's end: work is done, or a
// pacer refused a wait that would pass its deadline.
func cutByBudget(work context.Context, err error) bool {
	return work.Err() != nil || errors.Is(err, context.DeadlineExceeded)
}

// takeChunk splits the disks (sorted by instance) of the chunk of alarm
// names starting with chunk off the front of listed.
func takeChunk(listed []listedDisk, prefix, chunk string) (in, rest []listedDisk) {
	n := 0
	for n < len(listed) && InstancePrefix(prefix, listed[n].InstanceID) < chunk && !strings.HasPrefix(InstancePrefix(prefix, listed[n].InstanceID), chunk) {
		n++ // not in any chunk the pass reads
	}
	listed = listed[n:]
	n = 0
	for n < len(listed) && strings.HasPrefix(InstancePrefix(prefix, listed[n].InstanceID), chunk) {
		n++
	}
	return listed[:n], listed[n:]
}

// planChunk reads the alarms under chunk and the datapoints its disks
// need, and plans the chunk's difference.
func (r *Reconciler) planChunk(ctx, work context.Context, log *slog.Logger, req Request, chunk string, listed []listedDisk,
	live map[string]Instance, selected map[string]bool, res *Result) (Plan, error) {
	have, err := r.existing(work, []string{chunk})
	if err != nil {
		return Plan{}, err
	}
	now := r.now()
	kept := keptSizes(have, r.Alarms.Thresholds)
	keptOf := func(l listedDisk) (keptSize, bool) {
		k, ok := kept[AlarmName(r.Alarms.Prefix, l.InstanceID, l.Label, Warning)]
		return k, ok && l.OS == OSWindows && !req.readsSizes() && !r.Slices.sizeDue(l.InstanceID, k, r.SizeRefresh, now)
	}
	over, frozen := r.overrides(ctx, log, listed, live)
	overrideOf := func(l listedDisk) *Override {
		if o, ok := over[l.InstanceID][l.Label]; ok {
			return &o
		}
		return nil
	}
	sized := func(l listedDisk) bool {
		_, keep := keptOf(l)
		return !keep && !frozen[l.InstanceID] && overrideOf(l) == nil
	}
	data, err := r.datapoints(work, listed, sized)
	if err != nil {
		return Plan{}, err
	}
	settings := r.Alarms
	settings.TopicARN = req.TopicARN
	var want []Alarm
	reporting := map[string]bool{}
	for _, l := range listed {
		if frozen[l.InstanceID] {
			continue
		}
		d := resolve(l, data)
		switch k, keep := keptOf(l); {
		case overrideOf(l) != nil:
			d.Override, d.SizeKnown, d.SizeKept = overrideOf(l), true, true
		case keep:
			k.apply(&d, r.Alarms.Thresholds)
		case d.OS == OSWindows:
			res.SizesRead++
		}
		if d.OS == OSWindows && !d.SizeKnown && !d.SizeKept {
			log.InfoContext(ctx, "disk size unknown; using the thresholds for the smallest disks",
				"instanceId", d.InstanceID, "disk", d.Label, "reason", d.SizeReason)
			res.SizeUnknown = appendCapped(res.SizeUnknown, Skip{InstanceID: d.InstanceID, Disk: d.Label, Reason: d.SizeReason})
		}
		want = append(want, settings.Alarms(d, live[d.InstanceID].Name)...)
		reporting[d.InstanceID] = true
		res.Disks++
	}
	plan := PlanChanges(PlanInput{Want: want, Have: have, Live: live, Selected: selected, Reporting: reporting, Frozen: frozen})
	res.Unchanged += plan.Unchanged
	res.Kept += len(plan.Kept)
	for _, k := range plan.Kept {
		log.DebugContext(ctx, "alarm kept", "alarmName", k.Name, "reason", k.Reason)
	}
	return plan, nil
}

// overrides reads the OverrideTag of each instance with listed disks. An
// instance whose tag does not read is frozen: logged, and its alarms left
// as they were.
func (r *Reconciler) overrides(ctx context.Context, log *slog.Logger, listed []listedDisk, live map[string]Instance) (map[string]map[string]Override, map[string]bool) {
	byInstance := map[string][]listedDisk{}
	for _, l := range listed {
		byInstance[l.InstanceID] = append(byInstance[l.InstanceID], l)
	}
	over, frozen := map[string]map[string]Override{}, map[string]bool{}
	for id, disks := range byInstance {
		o, err := overridesOf(live[id], disks)
		if err != nil {
			frozen[id] = true
			log.WarnContext(ctx, "disk thresholds tag not read; the instance's alarms are left as they were", "instanceId", id, "error", err.Error())
			continue
		}
		over[id] = o
	}
	return over, frozen
}

// skipGroup is the skipped series of one reason, as the log shows them.
type skipGroup struct {
	Reason string   `json:"reason"`
	Count  int      `json:"count"`
	Disks  []string `json:"disks"` // "<instance ID> <disk>", up to 100
}

// groupSkips groups skips (sorted by instance and disk) by reason, in order
// of first appearance.
func groupSkips(skips []Skip) []skipGroup {
	var out []skipGroup
	index := map[string]int{}
	for _, s := range skips {
		i, ok := index[s.Reason]
		if !ok {
			i = len(out)
			index[s.Reason] = i
			out = append(out, skipGroup{Reason: s.Reason, Disks: []string{}})
		}
		g := &out[i]
		g.Count++
		if len(g.Disks) < maxListed {
			g.Disks = append(g.Disks, strings.TrimSpace(s.InstanceID+" "+s.Disk))
		}
	}
	return out
}

func appendCapped(list []Skip, s Skip) []Skip {
	if len(list) >= maxListed {
		return list
	}
	return append(list, s)
}

func (r *Reconciler) now() time.Time { return clock.Now(r.Now) }

func (r *Reconciler) logger() *slog.Logger { return cmp.Or(r.Log, slog.Default()) }
