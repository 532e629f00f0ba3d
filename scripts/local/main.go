// Command local runs the suite's Lambda functions as the binaries they
// ship as, each through a local Lambda Runtime API, against moto_server
// holding a small sample account, and reports what every function did and
// how the account changed. `make local` runs it; -only picks scenarios.
//
// It builds for this machine (bin/local/<name>), not for Lambda's arm64,
// and stops everything it started when it ends, fails or is interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/ebs-ops/lambda-suite/scripts/internal/gomod"
	"github.com/ebs-ops/lambda-suite/scripts/internal/standin"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/ebs-ops/lambda-suite/shared/testkit/runtimeapi"
)

// invokeTimeout is each invocation's deadline: well above ATTACH_WAIT plus
// the functions' safety margin, far below anything that looks like a hang.
const invokeTimeout = 60 * time.Second

func main() { os.Exit(run()) }

func run() int {
	only := flag.String("only", "", "comma-separated scenarios to run (default: all, in order)")
	list := flag.Bool("list", false, "list the scenarios and exit")
	flag.Parse()
	if *list {
		for _, s := range scenarios {
			fmt.Printf("%-28s %s\n", s.name, s.about)
		}
		return 0
	}
	chosen, err := pick(scenarios, *only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the driver at once; children die with it
	}()

	p := &printer{w: os.Stdout}
	r := &runner{printer: p}
	err = r.run(ctx, chosen)
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "\nlocal: interrupted; everything it started is stopped")
		return 130
	}
	fmt.Printf("\nchecks: %d passed, %d failed\n", p.passed, p.failed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		return 1
	}
	if p.failed > 0 {
		return 1
	}
	return 0
}

func pick(all []scenario, only string) ([]scenario, error) {
	if only == "" {
		return all, nil
	}
	var out []scenario
	for _, name := range strings.Split(only, ",") {
		i := slices.IndexFunc(all, func(s scenario) bool { return s.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("no scenario %q (try -list)", name)
		}
		out = append(out, all[i])
	}
	return out, nil
}

type runner struct {
	*printer
	root    string
	moto    *awstest.Server
	cfg     aws.Config // moto's default account: the account the built binaries act in
	ec2     *ec2.Client
	acct    *account
	standIn *standin.ReplaceRootVolume
	// iam evaluates every call of every function under its role, as
	// infra/sam writes it (shared/testkit/iam).
	iam *iam.Layer
}

// functionRoles names each function's template and logical ID: the role
// it runs under.
var functionRoles = map[string][2]string{
	"snapshot-on-volume-create": {"root-volume.yaml", "SnapshotOnVolumeCreateFunction"},
	"replace-root-volume":       {"root-volume.yaml", "ReplaceRootVolumeFunction"},
	"root-volume-cleanup":       {"root-volume.yaml", "RootVolumeCleanupFunction"},
	"ebs-alarms":                {"disk-alarm.yaml", "EbsAlarmsFunction"},
	"pipeline-health-gate":      {"health-gate.yaml", "PipelineHealthGateFunction"},
	"pipeline-stage-retry":      {"health-gate.yaml", "PipelineStageRetryFunction"},
	"ami-approval-request":      {"ami-approval.yaml", "AmiApprovalRequestFunction"},
	"ami-approval-link":         {"ami-approval.yaml", "AmiApprovalLinkFunction"},
	"ami-approval-sweeper":      {"ami-approval.yaml", "AmiApprovalSweeperFunction"},
}

// endpointSigning maps the per-service endpoint variables the scenarios
// set to the signing names the IAM layer routes by.
var endpointSigning = map[string]string{
	"AWS_ENDPOINT_URL_HEALTH": "health", "AWS_ENDPOINT_URL_CODEPIPELINE": "codepipeline", "AWS_ENDPOINT_URL_IMAGEBUILDER": "imagebuilder",
}

func (r *runner) run(ctx context.Context, chosen []scenario) error {
	root, err := gomod.Root(ctx)
	if err != nil {
		return err
	}
	r.root = root

	var fns []string
	for _, s := range chosen {
		for _, fn := range s.functions {
			if !slices.Contains(fns, fn) {
				fns = append(fns, fn)
			}
		}
	}
	r.heading("Building %s for this machine", strings.Join(fns, ", "))
	if err := r.build(ctx, fns); err != nil {
		return err
	}

	r.heading("Starting moto_server")
	moto, err := awstest.Start()
	if err != nil {
		return fmt.Errorf("start moto_server (pip install 'moto[server]'): %w", err)
	}
	defer moto.Stop()
	r.moto = moto
	r.note("%s, account %s, %s", moto.URL, awstest.DefaultAccount, awstest.Region)

	r.cfg, err = config.LoadDefaultConfig(ctx,
		config.WithRegion(awstest.Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		config.WithBaseEndpoint(moto.URL),
	)
	if err != nil {
		return err
	}
	r.ec2 = ec2.NewFromConfig(r.cfg)
	if r.standIn, err = standin.Start(moto.URL, r.ec2); err != nil {
		return err
	}
	defer r.standIn.Close()
	if r.iam, err = iam.New(moto.URL); err != nil {
		return err
	}
	defer r.iam.Close()
	// EC2 calls go through the stand-in, which answers the replace-root-volume
	// tasks moto lacks and passes the rest to moto.
	if err := r.iam.Route("ec2", r.standIn.URL); err != nil {
		return err
	}
	r.note("IAM enforced: every function calls through %s as its role in infra/sam/<capability>.yaml", r.iam.URL)

	r.heading("Sample account")
	if r.acct, err = seed(ctx, r.ec2, dynamodb.NewFromConfig(r.cfg)); err != nil {
		return fmt.Errorf("seed the sample account: %w", err)
	}
	for _, line := range r.acct.describe() {
		r.note("- %s", line)
	}
	inv, err := readInventory(ctx, r.ec2)
	if err != nil {
		return err
	}
	inv.state().print(r.w)

	var failed []string
	for _, s := range chosen {
		r.heading("%s: %s", s.name, s.about)
		if err := s.run(ctx, r); err != nil {
			if ctx.Err() != nil {
				return err
			}
			fmt.Fprintf(r.w, "\n   ✗ scenario stopped: %v\n", err)
			r.failed++
			failed = append(failed, s.name)
		}
	}

	r.heading("The account afterwards")
	if inv, err = readInventory(ctx, r.ec2); err != nil {
		return err
	}
	inv.state().print(r.w)
	allowed, denied := r.iam.Counts()
	r.heading("IAM")
	r.note("enforced for every function, with its role's policies as infra/sam writes them: %d calls allowed, %d denied", allowed, denied)
	for _, d := range r.iam.Denials() {
		r.note("- denied %s %s on %s", d.Principal, d.Action, d.Resource)
	}
	if len(failed) > 0 {
		return fmt.Errorf("scenarios stopped early: %s", strings.Join(failed, ", "))
	}
	return nil
}

// build compiles the functions for this machine, as `make build` does for
// Lambda but without GOOS/GOARCH, into bin/local/<name>.
func (r *runner) build(ctx context.Context, fns []string) error {
	args := []string{"build", "-tags", "lambda.norpc", "-trimpath", "-o", r.binDir() + string(filepath.Separator)}
	for _, fn := range fns {
		args = append(args, "./functions/"+fn)
	}
	cmd := exec.CommandContext(ctx, "go", args...) // #nosec G204 -- go build of the repository's own functions
	cmd.Dir = r.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	r.note("go %s", strings.Join(args, " "))
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("build functions: %w", err)
	}
	r.note("done in %s", time.Since(start).Round(100*time.Millisecond))
	return nil
}

func (r *runner) binDir() string { return filepath.Join(r.root, "bin", "local") }

// start runs a built function with the SDK pointed at moto through the
// IAM layer, as the function's role, and env (its configuration) added. A
// per-service endpoint in env becomes a route of the layer, so that the
// fakes are reached under IAM too.
func (r *runner) start(name string, env ...string) (*runtimeapi.Function, error) {
	r.note("function %s: %s", name, strings.Join(env, " "))
	role, ok := functionRoles[name]
	if !ok {
		return nil, fmt.Errorf("function %s has no role in functionRoles", name)
	}
	vars := map[string]string{}
	var kept []string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if signing, ok := endpointSigning[k]; ok {
			if err := r.iam.Route(signing, v); err != nil {
				return nil, err
			}
			continue
		}
		if k == "AWS_ENDPOINT_URL" {
			continue // the layer routes (the stand-in is its EC2 backend)
		}
		vars[k] = v
		kept = append(kept, kv)
	}
	opts, err := iam.FromEnvironment(role[0], role[1], vars)
	if err != nil {
		return nil, err
	}
	st, err := iam.LoadStack(role[0], cfn.Env{Account: awstest.DefaultAccount, Region: awstest.Region, Parameters: opts.Parameters, Names: opts.Names})
	if err != nil {
		return nil, err
	}
	p, err := r.iam.Function(st, role[1])
	if err != nil {
		return nil, err
	}
	return runtimeapi.Start(runtimeapi.Config{
		Name: name,
		Path: filepath.Join(r.binDir(), name),
		Env:  append(append(r.moto.Env(), kept...), r.iam.Env(p)...),
	})
}

// invoke runs one invocation, prints what the function logged and returned
// and what changed in the account, and returns the account as it now is.
// A function error is part of the report; err means the invocation itself
// failed (the process died, the timeout passed).
func (r *runner) invoke(ctx context.Context, f *runtimeapi.Function, payload []byte) (*inventory, error) {
	inv, _, err := r.invokeResult(ctx, f, payload)
	return inv, err
}

// invokeResult is invoke that also returns what the function answered.
func (r *runner) invokeResult(ctx context.Context, f *runtimeapi.Function, payload []byte) (*inventory, runtimeapi.Result, error) {
	before, err := readInventory(ctx, r.ec2)
	if err != nil {
		return nil, runtimeapi.Result{}, err
	}
	res, err := f.Invoke(ctx, payload, invokeTimeout)
	r.result(res)
	if err != nil {
		return nil, res, err
	}
	after, err := readInventory(ctx, r.ec2)
	if err != nil {
		return nil, res, err
	}
	changes := diff(before.state(), after.state())
	if len(changes) == 0 {
		r.note("AWS    no change")
	}
	for i, c := range changes {
		label := "      "
		if i == 0 {
			label = "AWS   "
		}
		r.note("%s %s", label, c)
	}
	return after, res, nil
}

func (r *runner) event(fn, file string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(r.root, "events", fn, file)) // #nosec G304 -- the repository's own sample events
	if err != nil {
		return nil, fmt.Errorf("sample event: %w", err)
	}
	return b, nil
}
