package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/testkit/diskalarmtest"
)

// The scale model runs the disk-alarm reconciler, as the function wires it
// with its default settings, against diskalarmtest.Cloud: an in-memory
// EC2 and CloudWatch that refuse any call past AWS's per-account quota
// (diskalarm.Quotas) in a virtual second, on a virtual clock, so that a
// simulated day takes seconds. Every pass has the function's 15 minutes
// less its 30-second margin, in virtual time. The fleet is half Windows
// (C: 100 GiB, D: 1 TiB, E: full) and half Linux (/, /data, /var/log).

// List prices, us-east-1, from https://aws.amazon.com/cloudwatch/pricing/
// and https://aws.amazon.com/lambda/pricing/ (the stored AWS
// documentation holds no copy of either page: these are the figures the
// pages give, as docs/ebs-alarms.md says).
const (
	priceAlarmMonth   = 0.10          // a standard-resolution metric alarm, per alarm-month
	priceMetrics      = 0.01 / 1000   // GetMetricData, per metric requested
	priceRequests     = 0.01 / 1000   // other CloudWatch API requests, per request (after 1,000,000 a month free)
	priceLambdaGBs    = 0.0000133334  // Lambda on arm64, per GB-second
	freeRequestsMonth = 1_000_000     // CloudWatch API requests free a month
	functionMemoryGB  = 1024.0 / 1024 // the stacks' MemorySize
	passBudget        = 15*time.Minute - 30*time.Second
	scheduleEvery     = diskalarm.DefaultSlot
	daysAMonth        = 30
)

// modelRow is the model's figures at one fleet size.
type modelRow struct {
	Instances, Disks, Alarms, Series int

	// The operators' command creating every alarm, chained by the deadline.
	FirstHours  float64
	FirstPasses int
	FirstCalls  diskalarm.Calls

	// An unchanged day of scheduled runs.
	DayCalls    diskalarm.Calls
	DayMetrics  int     // series requested through GetMetricData
	DayWrites   int     // must be 0
	DayLambdaS  float64 // seconds of function time
	DayThrottle int     // calls the account refused

	// A burst of new instances: minutes until the last has its alarms.
	Burst        int
	BurstMinutes float64

	Err string
}

// QuotaShare is the day's calls of api over its quota for a day.
func (r modelRow) QuotaShare(api string) float64 {
	return float64(r.DayCalls[api]) / (diskalarm.Quotas[api] * 86400)
}

// SeriesShare is the share of the disks' series that a scheduled run
// requests through GetMetricData, on average over the day.
func (r modelRow) SeriesShare() float64 {
	runs := float64(24 * time.Hour / scheduleEvery)
	return float64(r.DayMetrics) / runs / float64(r.Series)
}

// MonthlyCost is the alarms' and the unchanged days' API and Lambda cost.
func (r modelRow) MonthlyCost() (alarms, metrics, requests, lambda float64) {
	other := 0
	for api, n := range r.DayCalls {
		if api != "GetMetricData" && api != "DescribeInstances" {
			other += n
		}
	}
	other += r.DayCalls["GetMetricData"] // the calls themselves are requests too
	return float64(r.Alarms) * priceAlarmMonth,
		float64(r.DayMetrics*daysAMonth) * priceMetrics,
		float64(max(other*daysAMonth-freeRequestsMonth, 0)) * priceRequests,
		r.DayLambdaS * daysAMonth * functionMemoryGB * priceLambdaGBs
}

// model is one simulated account.
type model struct {
	clock    *diskalarmtest.Clock
	cloud    *diskalarmtest.Cloud
	rec      *diskalarm.Reconciler
	deadline time.Time
	next     int // the next instance number
}

func newModel() *model {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	m := &model{clock: diskalarmtest.NewClock(start)}
	m.cloud = diskalarmtest.NewCloud(m.clock, diskalarm.Quotas)
	m.cloud.ShardLen = len(diskalarm.DefaultPrefix) + len("i-00") // a bucket a shard
	pacers := map[string]diskalarm.Pacer{}
	for api, q := range diskalarm.Quotas {
		if api != "PutMetricAlarm" && api != "DeleteAlarms" {
			pacers[api] = &diskalarmtest.Pacer{Clock: m.clock, Rate: q * diskalarm.DefaultQuotaShare, Deadline: &m.deadline}
		}
	}
	m.rec = &diskalarm.Reconciler{
		EC2: m.cloud, CloudWatch: m.cloud, Namespace: diskalarmtest.Namespace, Now: m.clock.Now,
		Alarms: diskalarm.AlarmSettings{Prefix: diskalarm.DefaultPrefix, TreatMissingData: diskalarm.DefaultTreatMissingData,
			Thresholds: diskalarm.DefaultThresholds()},
		SizeRefresh: diskalarm.DefaultSizeRefresh, FullPass: diskalarm.DefaultFullPass, Pacers: pacers,
		// WRITE_RATE's default, the whole PutMetricAlarm quota.
		Limiter: &diskalarmtest.Pacer{Clock: m.clock, Rate: 3, Deadline: &m.deadline},
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return m
}

// launch adds n instances, half Windows and half Linux, with three disks.
func (m *model) launch(n int) {
	for range n {
		k := m.next
		m.next++
		// A splitmix64 step: IDs as random as EC2's, the same every run.
		z := uint64(k+1) * 0x9e3779b97f4a7c15 // #nosec G115 -- k counts launched instances, never negative
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		id := fmt.Sprintf("i-%016x%x", z^z>>31, k%16)
		if k%2 == 0 {
			m.cloud.Launch(id, "model-windows")
			m.cloud.Windows(id, "C:", diskalarmtest.Const(100), diskalarmtest.Const(40))
			m.cloud.Windows(id, "D:", diskalarmtest.Const(1024), diskalarmtest.Const(60))
			m.cloud.Windows(id, "E:", diskalarmtest.Const(20), diskalarmtest.Const(0))
			continue
		}
		m.cloud.Launch(id, "model-linux")
		for _, p := range []string{"/", "/data", "/var/log"} {
			m.cloud.Linux(id, p, diskalarmtest.Const(50))
		}
	}
}

// pass runs one pass of req on a 15-minute virtual budget.
func (m *model) pass(req diskalarm.Request) (diskalarm.Result, time.Duration, error) {
	start := m.clock.Now()
	m.deadline = start.Add(passBudget)
	res, err := m.rec.Reconcile(context.Background(), req)
	return res, m.clock.Now().Sub(start), err
}

// chain runs req and its continuations until a pass completes.
func (m *model) chain(req diskalarm.Request) (passes int, took time.Duration, calls diskalarm.Calls, err error) {
	calls = diskalarm.Calls{}
	for {
		passes++
		res, d, err := m.pass(req)
		took += d
		for api, n := range res.Calls {
			calls[api] += n
		}
		if err != nil {
			return passes, took, calls, err
		}
		if !res.Incomplete {
			return passes, took, calls, nil
		}
		if !res.Progressed(req.Cursor) {
			return passes, took, calls, fmt.Errorf("pass %d: the cursor did not move", passes)
		}
		origin, pass := req.Chain()
		req = diskalarm.Request{Trigger: diskalarm.TriggerResume, Origin: origin, Pass: pass + 1, Cursor: res.Cursor,
			Selector: req.Selector, TopicARN: req.TopicARN, At: res.ScopeAt}
		m.clock.Advance(time.Second) // the queue hands the continuation on
	}
}

const modelTopic = "arn:aws:sns:us-east-1:123456789012:disk-alerts"

var modelSelector = diskalarm.Selector{NamePattern: "model-*"}

// scheduled runs the schedule's runs (and their chains) from now for d,
// every 15 minutes, and returns their calls, function time and writes.
func (m *model) scheduled(d time.Duration, until func() bool) (calls diskalarm.Calls, lambda time.Duration, writes, runs int, err error) {
	calls = diskalarm.Calls{}
	start := m.clock.Now().Truncate(scheduleEvery).Add(scheduleEvery)
	for at := start; at.Before(start.Add(d)); at = at.Add(scheduleEvery) {
		m.clock.Set(at)
		before := m.cloud.Calls["PutMetricAlarm"] + m.cloud.Calls["DeleteAlarms"]
		_, took, c, err := m.chain(diskalarm.Request{Trigger: diskalarm.TriggerSchedule, Selector: modelSelector, TopicARN: modelTopic})
		runs++
		lambda += took
		for api, n := range c {
			calls[api] += n
		}
		writes += m.cloud.Calls["PutMetricAlarm"] + m.cloud.Calls["DeleteAlarms"] - before
		if err != nil {
			return calls, lambda, writes, runs, err
		}
		if until != nil && until() {
			break
		}
	}
	return calls, lambda, writes, runs, nil
}

// runModel makes the figures for a fleet of n instances and a burst of
// burst new ones.
func runModel(n, burst int) modelRow {
	m := newModel()
	m.launch(n)
	row := modelRow{Instances: n, Disks: 3 * n, Alarms: 6 * n, Series: 3*(n/2)*2 + 3*(n-n/2), Burst: burst}
	fail := func(what string, err error) modelRow {
		row.Err = fmt.Sprintf("%s: %v", what, err)
		return row
	}

	passes, took, calls, err := m.chain(diskalarm.Request{Trigger: diskalarm.TriggerDirect, Selector: modelSelector, TopicARN: modelTopic})
	row.FirstPasses, row.FirstHours, row.FirstCalls = passes, took.Hours(), calls
	if err != nil {
		return fail("first creation", err)
	}
	if got := len(m.cloud.AlarmNames()); got != row.Alarms {
		return fail("first creation", fmt.Errorf("%d alarms, want %d", got, row.Alarms))
	}

	// The fleet settles: a day later, every instance is an old one.
	m.clock.Advance(24 * time.Hour)
	m.cloud.ResetCounts()
	dayCalls, lambda, writes, _, err := m.scheduled(24*time.Hour, nil)
	row.DayCalls, row.DayLambdaS, row.DayWrites = dayCalls, lambda.Seconds(), writes
	row.DayMetrics = m.cloud.Metrics
	for _, v := range m.cloud.Throttled {
		row.DayThrottle += v
	}
	if err != nil {
		return fail("unchanged day", err)
	}

	launched := m.clock.Now()
	first := m.next
	m.launch(burst)
	want := 6 * (n + burst)
	_, _, _, _, err = m.scheduled(24*time.Hour, func() bool { return len(m.cloud.AlarmNames()) >= want })
	if err != nil {
		return fail("burst", err)
	}
	if got := len(m.cloud.AlarmNames()); got < want {
		return fail("burst", fmt.Errorf("%d of the %d new instances' alarms after a day", got-6*n, 6*(m.next-first)))
	}
	row.BurstMinutes = m.clock.Now().Sub(launched).Minutes()
	return row
}

// Targets of the unchanged day (issue 21), from modelTargetInstances
// instances up: no quota the suite touches over 10 % for the day, and no
// more than 1 % of the disks' series through GetMetricData a run.
const (
	modelTargetInstances = 20000
	maxQuotaShare        = 0.10
	maxSeriesShare       = 0.01
)

// modelAPIs are the APIs the model reports, in order.
var modelAPIs = []string{"DescribeInstances", "ListMetrics", "DescribeAlarms", "GetMetricData", "PutMetricAlarm", "DeleteAlarms"}

// failures lists the row's missed targets.
func (r modelRow) failures() []string {
	if r.Err != "" {
		return []string{fmt.Sprintf("scale model %d: %s", r.Instances, r.Err)}
	}
	if r.Instances < modelTargetInstances {
		return nil
	}
	var out []string
	for _, api := range modelAPIs {
		if s := r.QuotaShare(api); s > maxQuotaShare {
			out = append(out, fmt.Sprintf("scale model %d: an unchanged day takes %.1f %% of the %s quota", r.Instances, 100*s, api))
		}
	}
	if s := r.SeriesShare(); s > maxSeriesShare {
		out = append(out, fmt.Sprintf("scale model %d: a run requests %.2f %% of the disks' series", r.Instances, 100*s))
	}
	if r.DayWrites != 0 || r.DayThrottle != 0 {
		out = append(out, fmt.Sprintf("scale model %d: an unchanged day made %d writes and was throttled %d times", r.Instances, r.DayWrites, r.DayThrottle))
	}
	return out
}

func pct(f float64) string { return fmt.Sprintf("%.2f %%", 100*f) }

// modelMarkdown writes the scale model's section.
func modelMarkdown(b io.Writer, rows []modelRow) {
	fmt.Fprintf(b, "\n## Scale model: disk alarms at 1,000 to 100,000 instances\n\n")
	fmt.Fprintf(b, "The reconciler with the function's defaults (`QUOTA_SHARE` 0.25, `WRITE_RATE` 3, `SIZE_REFRESH` and `FULL_PASS` 24h, a 15-minute schedule) against `diskalarmtest.Cloud`, an in-memory EC2 and CloudWatch that refuse a call past AWS's per-account quota in a virtual second, on a virtual clock: no wall time passes for the waits. Each pass has 15 minutes less a 30-second margin. Half the instances are Windows (C: 100 GiB, D: 1 TiB, E: full), half Linux (/, /data, /var/log): 3 disks, 6 alarms each. Targets from %s instances: an unchanged day takes at most %.0f %% of any quota, and a run requests at most %.0f %% of the disks' series through GetMetricData.\n\n",
		"20,000", 100*maxQuotaShare, 100*maxSeriesShare)
	fmt.Fprintf(b, "| Instances | Alarms | First creation (operators' command) | Unchanged day: calls | Unchanged day: share of each quota | GetMetricData series a day (a run, of %s) | Writes | Burst of new instances: minutes to the last alarm | Monthly cost (alarms + API + Lambda) | Targets |\n", "the disks' series")
	fmt.Fprintf(b, "|--:|--:|---|---|---|---|--:|--:|---|:-:|\n")
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(b, "| %d | %d | %s | | | | | | | **FAIL** |\n", r.Instances, r.Alarms, cell(r.Err))
			continue
		}
		var calls, shares []string
		for _, api := range modelAPIs {
			if n := r.DayCalls[api]; n > 0 {
				calls = append(calls, fmt.Sprintf("%s %d", api, n))
				shares = append(shares, fmt.Sprintf("%s %s", api, pct(r.QuotaShare(api))))
			}
		}
		alarms, metrics, requests, lambda := r.MonthlyCost()
		fmt.Fprintf(b, "| %d | %d | %.1f h, %d passes (%s) | %s | %s | %d (%s) | %d | %d new: %.0f min | $%.2f + $%.2f + $%.2f + $%.2f = $%.2f | %s |\n",
			r.Instances, r.Alarms, r.FirstHours, r.FirstPasses, escape(formatCalls(r.FirstCalls)),
			strings.Join(calls, ", "), strings.Join(shares, ", "), r.DayMetrics, pct(r.SeriesShare()), r.DayWrites,
			r.Burst, r.BurstMinutes, alarms, metrics, requests, lambda, alarms+metrics+requests+lambda, pass(len(r.failures()) == 0))
	}
	fmt.Fprintf(b, "\nPrices (us-east-1 list prices): $%.2f per standard-resolution alarm a month, $%.2f per 1,000 metrics GetMetricData requests and per 1,000 other API requests past the first %d a month ([CloudWatch pricing](https://aws.amazon.com/cloudwatch/pricing/)); Lambda arm64 $%.10f per GB-second at %.0f MB ([Lambda pricing](https://aws.amazon.com/lambda/pricing/)); the unchanged day's calls and function time times %d. The burst is picked up by the schedule alone (a `running` event reconciles its instance at once, but the agent's series come minutes later).\n",
		priceAlarmMonth, priceMetrics*1000, freeRequestsMonth, priceLambdaGBs, functionMemoryGB*1024, daysAMonth)
}

// models runs the scale model at each of the comma-separated sizes.
func models(sizes string, burst int) ([]modelRow, error) {
	// The model holds up to 600,000 alarms and 450,000 series: collecting
	// less often trades memory, which the machine has, for time.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	var rows []modelRow
	for _, s := range strings.Split(sizes, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 2 {
			return nil, fmt.Errorf("-model-sizes: %q is not a number of instances", s)
		}
		fmt.Fprintf(os.Stderr, "scale model at %d instances (virtual time)\n", n)
		start := time.Now()
		row := runModel(n, burst)
		fmt.Fprintf(os.Stderr, "  %d instances modelled in %s\n", n, time.Since(start).Round(time.Second))
		rows = append(rows, row)
	}
	return rows, nil
}
