package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The targets the report checks.
const (
	maxFirstResponse = 100 * time.Millisecond
	maxZipped        = 10_000_000 // bytes
	// A listing that grows with pages reads at least this many items a
	// call on average (EC2 pages hold up to 1,000, DescribeAlarms 100);
	// one that grows with items reads about one.
	minItemsPerRead = 50
	readAllowance   = 10 // calls any run may make whatever its size
)

// functionResult is what was measured of one function.
type functionResult struct {
	Name              string
	Bootstrap, Zipped int64 // bytes; arm64, as make build ships them
	// First is the time from process start to the first response, Warm a
	// second invocation's latency, one of each per run.
	First, Warm []time.Duration
	// FirstOwn and WarmOwn are the same less the time spent waiting on
	// the emulator's answers: the function's own share.
	FirstOwn, WarmOwn []time.Duration
	PeakRSSKiB        int64 // VmHWM, the largest over every run
	Events            []eventCalls
	Err               string // why the function could not be measured
}

// eventCalls is the AWS calls one sample event caused, by operation.
type eventCalls struct {
	Event   string
	Outcome string // "ok", or the function error
	Calls   map[string]int
}

// scaleRow is one scale benchmark's result, as go test -bench reported it.
type scaleRow struct {
	Workload string // "cleanup", "reconcile"
	Size     int
	Run      string // "dry-run", "first-run", "rerun"
	Time     time.Duration
	Reads    float64 // Describe/List/Get calls a run
	Writes   float64
}

type report struct {
	When      time.Time
	GoVersion string
	Runs      int
	Machine   string // CPUs and load when the run started
	Functions []functionResult
	Scale     []scaleRow
	Model     []modelRow
	Notes     []string
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

func pass(ok bool) string {
	if ok {
		return "pass"
	}
	return "**FAIL**"
}

// firstResponseOK is the cold-start target for one function.
func firstResponseOK(f functionResult) bool {
	return f.Err == "" && len(f.FirstOwn) > 0 && median(f.FirstOwn) < maxFirstResponse
}

// readsGrowWithPages is the "Describe/List calls grow with pages, not
// items" target for one run.
func readsGrowWithPages(r scaleRow) bool {
	return r.Reads <= float64(r.Size)/minItemsPerRead+readAllowance
}

// markdown writes the report.
func (r report) markdown(w io.Writer) error {
	b := &strings.Builder{}
	fmt.Fprintf(b, "# Performance report\n\n")
	fmt.Fprintf(b, "%s, %s, %s; functions run as built binaries through the local Lambda Runtime API against moto_server. Reproduce with `make bench`.\n\n",
		r.When.UTC().Format("2006-01-02 15:04 UTC"), r.GoVersion, r.Machine)

	if len(r.Functions) > 0 {
		fmt.Fprintf(b, "## Functions\n\n")
		fmt.Fprintf(b, "Medians of %d runs. *Own* is the time less the time spent waiting on moto's and the stand-ins' answers (measured at the counting proxy): the function's own share, which the first-response target is checked on, as moto's answer times are not AWS's.\n\n", r.Runs)
		fmt.Fprintf(b, "| Function | bootstrap (arm64) | zipped | first response | first response, own | warm invocation | warm, own | peak RSS | first response < %s | zipped < %s |\n", ms(maxFirstResponse), mb(maxZipped))
		fmt.Fprintf(b, "|---|--:|--:|--:|--:|--:|--:|--:|:-:|:-:|\n")
		for _, f := range r.Functions {
			zipOK := pass(f.Zipped > 0 && f.Zipped < maxZipped)
			if f.Err != "" {
				fmt.Fprintf(b, "| %s | %s | %s | not measured: %s | | | | | **FAIL** | %s |\n", f.Name, mb(f.Bootstrap), mb(f.Zipped), cell(f.Err), zipOK)
				continue
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %.1f MiB | %s | %s |\n", f.Name, mb(f.Bootstrap), mb(f.Zipped),
				ms(median(f.First)), ms(median(f.FirstOwn)), ms(median(f.Warm)), ms(median(f.WarmOwn)), float64(f.PeakRSSKiB)/1024,
				pass(firstResponseOK(f)), zipOK)
		}

		fmt.Fprintf(b, "\n## AWS API calls per event\n\nEach sample event of `events/<function>/`, in order, in one warm process, with the placeholders in the events pointed at the sample resources the run made; calls counted at a proxy in front of moto and the stand-ins. The functions share one moto account, in the order listed, so the cleanup also finds what the functions before it left.\n\n")
		fmt.Fprintf(b, "| Function | Event | Outcome | Calls | API calls by operation |\n|---|---|---|--:|---|\n")
		for _, f := range r.Functions {
			for _, e := range f.Events {
				total := 0
				for _, n := range e.Calls {
					total += n
				}
				fmt.Fprintf(b, "| %s | %s | %s | %d | %s |\n", f.Name, e.Event, cell(e.Outcome), total, escape(formatCalls(e.Calls)))
			}
		}
	}

	if len(r.Scale) > 0 {
		fmt.Fprintf(b, "\n## Scale: the cleanup and the alarm reconcile\n\n")
		fmt.Fprintf(b, "From `BenchmarkCleanup` (shared/rootvolume; n tagged snapshots plus n/5 tagged volumes) and `BenchmarkReconcile` (shared/diskalarm; about n alarms), one run each, in-process against moto, calls counted with `awstest.Calls`. Reads grow with pages when a run reads at least %d items a call (reads ≤ n/%d + %d).\n\n", minItemsPerRead, minItemsPerRead, readAllowance)
		fmt.Fprintf(b, "| Workload | Resources | Run | Time | Describe/List/Get calls | Writes | reads grow with pages | zero writes on re-run |\n|---|--:|---|--:|--:|--:|:-:|:-:|\n")
		for _, s := range r.Scale {
			rerun := ""
			if s.Run == "rerun" {
				rerun = pass(s.Writes == 0)
			}
			fmt.Fprintf(b, "| %s | %d | %s | %s | %s | %s | %s | %s |\n", s.Workload, s.Size, s.Run,
				s.Time.Round(10*time.Millisecond), num(s.Reads), num(s.Writes), pass(readsGrowWithPages(s)), rerun)
		}
	}

	if len(r.Model) > 0 {
		modelMarkdown(b, r.Model)
	}

	if len(r.Notes) > 0 {
		fmt.Fprintf(b, "\n## Notes\n\n")
		for _, n := range r.Notes {
			fmt.Fprintf(b, "- %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// failures lists the targets missed, for the exit status.
func (r report) failures() []string {
	var out []string
	for _, f := range r.Functions {
		switch {
		case f.Err != "":
			out = append(out, f.Name+": not measured")
		case !firstResponseOK(f):
			out = append(out, fmt.Sprintf("%s: first response, own %s", f.Name, ms(median(f.FirstOwn))))
		}
		if f.Zipped >= maxZipped {
			out = append(out, fmt.Sprintf("%s: zipped %s", f.Name, mb(f.Zipped)))
		}
	}
	for _, s := range r.Scale {
		if !readsGrowWithPages(s) {
			out = append(out, fmt.Sprintf("%s %d %s: %s reads", s.Workload, s.Size, s.Run, num(s.Reads)))
		}
		if s.Run == "rerun" && s.Writes != 0 {
			out = append(out, fmt.Sprintf("%s %d re-run: %s writes", s.Workload, s.Size, num(s.Writes)))
		}
	}
	for _, m := range r.Model {
		out = append(out, m.failures()...)
	}
	return out
}

func formatCalls(calls map[string]int) string {
	if len(calls) == 0 {
		return "none"
	}
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(calls)) {
		parts = append(parts, fmt.Sprintf("%s %d", op, calls[op]))
	}
	return strings.Join(parts, ", ")
}

func num(f float64) string {
	if f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// cell makes text safe inside a Markdown table cell, cut to 160 bytes.
func cell(s string) string {
	s = escape(s)
	if len(s) > 160 {
		s = s[:157] + "..."
	}
	return s
}

// escape makes text safe inside a Markdown table cell, whole: a list of
// calls is read to its end.
func escape(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// readOps are the metrics (per op) each benchmark reports that count reads.
var readOps = map[string][]string{
	"BenchmarkCleanup":   {"describe-calls/op"},
	"BenchmarkReconcile": {"DescribeInstances/op", "DescribeAlarms/op", "ListMetrics/op", "GetMetricData/op"},
}

var workloads = map[string]string{"BenchmarkCleanup": "cleanup", "BenchmarkReconcile": "reconcile"}

// parseBench reads go test -bench output: lines such as
// "BenchmarkCleanup/resources=100/rerun-2  1  3157537330 ns/op  4.000 describe-calls/op  0 writes/op".
func parseBench(r io.Reader) ([]scaleRow, error) {
	var rows []scaleRow
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") || len(fields)%2 != 0 {
			continue
		}
		parts := strings.Split(fields[0], "/")
		workload, ok := workloads[parts[0]]
		if !ok || len(parts) != 3 || !strings.HasPrefix(parts[1], "resources=") {
			continue
		}
		size, err := strconv.Atoi(strings.TrimPrefix(parts[1], "resources="))
		if err != nil {
			return nil, fmt.Errorf("bench line %q: %w", sc.Text(), err)
		}
		run := parts[2]
		if i := strings.LastIndexByte(run, '-'); i > 0 {
			if _, err := strconv.Atoi(run[i+1:]); err == nil {
				run = run[:i] // the GOMAXPROCS suffix
			}
		}
		metrics := map[string]float64{}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("bench line %q: %w", sc.Text(), err)
			}
			metrics[fields[i+1]] = v
		}
		row := scaleRow{Workload: workload, Size: size, Run: run, Time: time.Duration(metrics["ns/op"]), Writes: metrics["writes/op"]}
		for _, m := range readOps[parts[0]] {
			row.Reads += metrics[m]
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}
