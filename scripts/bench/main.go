// Command bench measures the suite and writes one Markdown report (printed,
// and written to -out): per function, the arm64 bootstrap and zip sizes
// from `make build`, the cold start (process start to first response
// through the local Lambda Runtime API) and a warm invocation's latency,
// the peak RSS, and the AWS calls each sample event causes; then how the
// cleanup and the alarm reconcile grow with the resources they handle,
// from their benchmarks. `make bench` runs it after `make build`.
//
// The functions run as binaries built for this machine with the shipping
// flags, against moto_server and the suite's stand-ins for the APIs moto
// lacks, with a counting proxy in front of each.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/scripts/internal/gomod"
	"github.com/ebs-ops/lambda-suite/scripts/internal/standin"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

const invokeTimeout = 60 * time.Second

func main() { os.Exit(run()) }

func run() int {
	runs := flag.Int("runs", 5, "cold starts per function (the median is reported)")
	out := flag.String("out", "bin/bench/report.md", "where to write the report")
	cleanupSizes := flag.String("cleanup-sizes", "100,1000,5000", "tagged snapshots for the cleanup's scale benchmark (BENCH_SIZES); empty skips it")
	reconcileSizes := flag.String("reconcile-sizes", "100,1000", "alarms for the reconcile's scale benchmark (BENCH_SIZES); empty skips it. "+
		"5000 adds about 12 minutes of moto time")
	only := flag.String("only", "", "comma-separated functions to measure (default: every functions/*)")
	modelSizes := flag.String("model-sizes", "1000,20000,100000", "instances for the disk alarms' scale model (in process, virtual time); empty skips it")
	modelBurst := flag.Int("model-burst", 1000, "new instances in the scale model's burst")
	modelOnly := flag.Bool("model-only", false, "run only the scale model")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root, err := gomod.Root(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	rep := report{When: time.Now(), GoVersion: runtime.Version(), Runs: *runs, Machine: machine()}
	b := &bench{root: root, runs: *runs}
	if !*modelOnly {
		if err := b.measureFunctions(ctx, &rep, *only); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
	}
	rows, err := models(*modelSizes, *modelBurst)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	rep.Model = rows
	for _, sc := range []struct{ bench, pkg, sizes string }{
		{"BenchmarkCleanup", "./shared/rootvolume", *cleanupSizes},
		{"BenchmarkReconcile", "./shared/diskalarm", *reconcileSizes},
	} {
		if *modelOnly || strings.TrimSpace(sc.sizes) == "" {
			continue
		}
		rows, err := scale(ctx, root, sc.bench, sc.pkg, sc.sizes)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			return 1
		}
		rep.Scale = append(rep.Scale, rows...)
	}
	rep.Notes = notes

	var buf bytes.Buffer
	if err := rep.markdown(&buf); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	path := *out
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil { // #nosec G301 -- the report folder under bin/, for people to read
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil { // #nosec G306 -- a report for people to read, not a secret
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	fmt.Print("\n", buf.String())
	fmt.Printf("\nreport written to %s\n", path)
	if failed := rep.failures(); len(failed) > 0 {
		fmt.Fprintf(os.Stderr, "bench: targets missed: %s\n", strings.Join(failed, "; "))
		return 1
	}
	return 0
}

// notes say what the figures are and are not.
var notes = []string{
	"Cold start is measured on this machine (amd64) with the shipping build flags; the first response includes the event's AWS calls to moto on loopback, which answers slower than AWS. Lambda adds its own sandbox start, which no local run sees.",
	"Peak RSS is the process's VmHWM after its invocations; Lambda's memory setting must cover it plus the runtime's share.",
	"Each cold-start run repeats the same event twice in a fresh process, after the calls pass: so it takes the idempotent path (the snapshot exists, nothing is left to clean, the alarms are in place).",
	"moto has no AWS Health, no CodePipeline job calls, no EC2 Image Builder and no CreateReplaceRootVolumeTask: those calls go to the suite's fakes (shared/testkit/fakehealthgate, shared/testkit/fakeimagebuilder) and stand-in (scripts/internal/standin), counted like the rest.",
}

type bench struct {
	root string
	runs int
	moto *awstest.Server
	cfg  aws.Config // straight to moto: setup calls are not counted
	ec2  *ec2.Client

	tally                                       *tally
	motoProxy, fakeProxy, ibProxy, standInProxy *counter
	fake                                        *fakehealthgate.Server
	ib                                          *fakeimagebuilder.Server
	standIn                                     *standin.ReplaceRootVolume

	image        string // the AMI instances launch from
	replacements bool   // the replacements table is made
	recordKey    string // the root-volume record key (PROOF_KEY_ARN), once made
	approval     *approvalSetup
}

func (b *bench) measureFunctions(ctx context.Context, rep *report, only string) error {
	names, err := functionNames(b.root, only)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "build %d functions for this machine (shipping flags) into bin/bench\n", len(names))
	if err := b.build(ctx, names); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "start moto_server, the fakes and the counting proxies")
	if b.moto, err = awstest.Start(); err != nil {
		return fmt.Errorf("start moto_server: %w", err)
	}
	defer b.moto.Stop()
	if b.cfg, err = config.LoadDefaultConfig(ctx, config.WithRegion(awstest.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithBaseEndpoint(b.moto.URL)); err != nil {
		return err
	}
	b.ec2 = ec2.NewFromConfig(b.cfg)
	b.tally = newTally()
	if b.fake, err = fakehealthgate.Start(); err != nil {
		return err
	}
	defer b.fake.Close()
	if b.ib, err = fakeimagebuilder.Start(); err != nil {
		return err
	}
	defer b.ib.Close()
	if b.standIn, err = standin.Start(b.moto.URL, b.ec2); err != nil {
		return err
	}
	defer b.standIn.Close()
	for target, p := range map[string]**counter{b.moto.URL: &b.motoProxy, b.fake.URL: &b.fakeProxy, b.ib.URL: &b.ibProxy, b.standIn.URL: &b.standInProxy} {
		if *p, err = startCounter(target, b.tally); err != nil {
			return err
		}
		defer (*p).Close()
	}

	for _, name := range names {
		fmt.Fprintf(os.Stderr, "measure %s\n", name)
		res := b.measure(ctx, name)
		if res.Err != "" {
			fmt.Fprintf(os.Stderr, "  %s not measured: %s\n", name, res.Err)
		}
		rep.Functions = append(rep.Functions, res)
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return nil
}

func functionNames(root, only string) ([]string, error) {
	dirs, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range dirs {
		name := filepath.Base(filepath.Dir(d))
		if only == "" || strings.Contains(","+only+",", ","+name+",") {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no function matches -only %q", only)
	}
	return names, nil
}

// measure sets the function up, counts the calls of each sample event in
// one process, then starts it runs times for the cold and warm figures.
func (b *bench) measure(ctx context.Context, name string) functionResult {
	res := functionResult{Name: name}
	res.Bootstrap, res.Zipped = fileSize(filepath.Join(b.root, "bin", name, "bootstrap")), fileSize(filepath.Join(b.root, "bin", name+".zip"))
	setup, ok := setups[name]
	if !ok {
		setup = func(_ context.Context, b *bench) (subject, error) {
			evs, err := b.sampleEvents(name, nil)
			if err != nil || len(evs) == 0 {
				return subject{}, err
			}
			return subject{events: evs, cold: evs[0].file}, nil
		}
	}
	s, err := setup(ctx, b)
	if err != nil {
		res.Err = "setup: " + err.Error()
		return res
	}
	if err := b.countCalls(ctx, name, s, &res); err != nil {
		res.Err = err.Error()
		return res
	}
	cold, ok := s.event(s.cold)
	if !ok {
		res.Err = "no sample event " + s.cold
		return res
	}
	for range b.runs {
		run, err := b.coldStart(ctx, name, s.env, cold)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		res.First, res.Warm = append(res.First, run.first), append(res.Warm, run.warm)
		res.FirstOwn, res.WarmOwn = append(res.FirstOwn, run.first-run.firstAWS), append(res.WarmOwn, run.warm-run.warmAWS)
		res.PeakRSSKiB = max(res.PeakRSSKiB, run.rssKiB)
	}
	return res
}

func (b *bench) countCalls(ctx context.Context, name string, s subject, res *functionResult) error {
	f, err := b.start(name, s.env)
	if err != nil {
		return err
	}
	defer f.Close()
	b.tally.take()
	for _, e := range s.events {
		payload, err := e.payload()
		if err != nil {
			return fmt.Errorf("%s: %w", e.file, err)
		}
		out, err := invoke(ctx, f, payload)
		if err != nil {
			return fmt.Errorf("%s: %w", e.file, err)
		}
		outcome := "ok"
		if out.FunctionError != nil {
			outcome = "error: " + out.FunctionError.Error()
		}
		res.Events = append(res.Events, eventCalls{Event: e.file, Outcome: outcome, Calls: b.tally.take()})
	}
	res.PeakRSSKiB = max(res.PeakRSSKiB, peakRSS(f.Pid()))
	return nil
}

// sample is one cold-start run: the time from process start to the first
// response, the second invocation's latency, the part of each spent
// waiting on the emulator's answers, and the process's peak RSS.
type sample struct {
	first, firstAWS, warm, warmAWS time.Duration
	rssKiB                         int64
}

// coldStart starts the function and invokes it twice with the event.
func (b *bench) coldStart(ctx context.Context, name string, env []string, e event) (s sample, err error) {
	p1, err := e.payload()
	if err != nil {
		return s, err
	}
	p2, err := e.payload()
	if err != nil {
		return s, err
	}
	b.tally.waited()
	start := time.Now()
	f, err := b.start(name, env)
	if err != nil {
		return sample{}, err
	}
	defer f.Close()
	if _, err := invoke(ctx, f, p1); err != nil {
		return sample{}, err
	}
	s.first = time.Since(start)
	s.firstAWS = b.tally.waited()
	out, err := invoke(ctx, f, p2)
	if err != nil {
		return sample{}, err
	}
	s.warm, s.warmAWS = out.Duration, b.tally.waited()
	s.rssKiB = peakRSS(f.Pid())
	return s, nil
}

// start runs a built function with the SDK pointed at moto through the
// counting proxy; env (its configuration) may override that.
func (b *bench) start(name string, env []string) (*runtimeapi.Function, error) {
	base := append(b.moto.Env(), "AWS_ENDPOINT_URL="+b.motoProxy.URL)
	return runtimeapi.Start(runtimeapi.Config{
		Name: name,
		Path: filepath.Join(b.root, "bin", "bench", name),
		Env:  append(base, env...),
	})
}

// build compiles the functions for this machine with make build's flags.
func (b *bench) build(ctx context.Context, names []string) error {
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-ldflags", "-s -w", "-o", filepath.Join(b.root, "bin", "bench") + string(filepath.Separator)}
	for _, n := range names {
		args = append(args, "./functions/"+n)
	}
	cmd := exec.CommandContext(ctx, "go", args...) // #nosec G204 -- go build of the repository's own functions
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	return nil
}

// machine says what the figures were taken on: timings move with the load.
func machine() string {
	m := fmt.Sprintf("%d CPUs", runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(b)); len(f) >= 3 {
			m += ", load average " + strings.Join(f[:3], " ")
		}
	}
	return m
}

// peakRSS reads the process's VmHWM in KiB; 0 when it cannot.
func peakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// scale runs a scale benchmark's first run and unchanged re-run once at
// each size, and reads their metrics.
func scale(ctx context.Context, root, bench, pkg, sizes string) ([]scaleRow, error) {
	fmt.Fprintf(os.Stderr, "%s at %s resources (go test -bench, one run each)\n", bench, sizes)
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^"+bench+"$/resources=/^(first-run|rerun)$", // #nosec G204 -- go test of the repository's own benchmarks
		"-benchtime", "1x", "-timeout", "60m", pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "AWSTEST_REQUIRE=1", "BENCH_SIZES="+sizes)
	var out bytes.Buffer
	cmd.Stdout = io.MultiWriter(&out, os.Stderr)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: %w", bench, err)
	}
	rows, err := parseBench(&out)
	if err == nil && len(rows) == 0 {
		err = fmt.Errorf("%s reported nothing", bench)
	}
	return rows, err
}
