package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// imageARN is the build the tests' approvals are of, as the sample names
// it; env.Own(imageARN) is the test account's.
const imageARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.5/1"

var linkPattern = regexp.MustCompile(`\?token=([A-Za-z0-9_-]{43})\n`)

func scheduled(t *testing.T) events.EventBridgeEvent {
	t.Helper()
	return sample.Event[events.EventBridgeEvent](t, "ami-approval-sweeper", "scheduled.json")
}

// stuck makes an approval request for a two-Region build and leaves it as
// an invocation that crashed after the first share leaves it: approved,
// "sharing" since before the lease, the first AMI shared and recorded.
func stuck(t *testing.T, env *approvaltest.Env, stoppedAt time.Time) (east, west string) {
	t.Helper()
	ctx := context.Background()
	build := env.Own(imageARN)
	east = approvaltest.GoldenAMI(t, env.EC2("us-east-1"), "us-east-1", build, "golden east")
	west = approvaltest.GoldenAMI(t, env.EC2("eu-west-1"), "eu-west-1", build, "golden west")
	amis := []approval.AMI{{Region: "us-east-1", ID: east}, {Region: "eu-west-1", ID: west}}
	env.Built(build, amis...)
	s := env.Settings("https://approvals.example.com/")
	req := &approval.Requester{
		Store: env.Store(env.Cfg), Builds: env.Builds(env.Cfg), EC2: env.Names(env.Cfg),
		SNS: env.SNS, ApproverTopicARN: s.ApproverTopicARN, Targets: s.Targets, ApprovalURL: s.ApprovalURL,
	}
	im := approval.Image{ARN: build, Name: "golden-al2023", Version: "1.0.5", Status: approval.StatusAvailable, AccountID: env.Account, AMIs: amis}
	if _, err := req.Handle(ctx, im); err != nil {
		t.Fatal(err)
	}
	mails := env.Approver.Receive(t)
	if len(mails) != 1 {
		t.Fatalf("approval emails = %d, want 1", len(mails))
	}
	tok, err := approvaltest.TokenIn(mails[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	// The crash: east shared, and recorded as possibly shared, then nothing.
	d := approval.NewDecider(env.Cfg, s, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	d.Builds = env.Builds(env.Cfg)
	approvaltest.MustStop(t, d, tok, stoppedAt)
	return east, west
}

func newHandler(t *testing.T, env *approvaltest.Env, calls *awstest.Calls) *handler {
	t.Helper()
	return newHandlerWith(t, env, calls, nil)
}

// newHandlerWith is newHandler with the function's clients built on
// wrap(config), such as a config whose calls go through injected faults.
func newHandlerWith(t *testing.T, env *approvaltest.Env, calls *awstest.Calls, wrap func(aws.Config) aws.Config) *handler {
	t.Helper()
	// The function's calls run under its role, as infra/sam writes it.
	cfg := env.As(t, approvaltest.SweeperFunction).Config.Copy()
	if wrap != nil {
		cfg = wrap(cfg)
	}
	cfg.APIOptions = append(cfg.APIOptions, calls.Middleware)
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	d := approval.NewDecider(cfg, env.Settings("https://approvals.example.com/"), log)
	d.Builds = env.Builds(cfg)
	d.OpsTopicARN = env.OpsTopic
	// The workflow mode's reminders on, as deployed: the sweep tests here
	// show that they leave the SNS flow's sweep as it was.
	d.ReminderLead = approval.DefaultReminderLead
	return &handler{decider: d, log: log}
}

// TestStoppedApprovalIsFinishedOnce: a decision left "sharing" after a
// crash past its lease is completed by the sweep, exactly once: every AMI
// shared, the targets told once, the approvers told once; a second sweep
// and an approval still within its lease are left alone.
func TestStoppedApprovalIsFinishedOnce(t *testing.T) {
	env := approvaltest.New(t)
	calls := awstest.NewCalls()
	east, west := stuck(t, env, time.Now().Add(-approval.SharingLease-time.Minute))
	h := newHandler(t, env, calls)

	swept, err := h.Handle(context.Background(), scheduled(t))
	if err != nil || len(swept) != 1 || swept[0].Outcome != approval.OutcomeShared {
		t.Fatalf("Handle = %+v, %v, want one approval finished as shared", swept, err)
	}
	for region, ami := range map[string]string{"us-east-1": east, "eu-west-1": west} {
		if got := approvaltest.LaunchPermissions(t, env.EC2(region), ami); !slices.Equal(got, approvaltest.Targets.Accounts) {
			t.Errorf("launch permissions of %s = %v, want %v", ami, got, approvaltest.Targets.Accounts)
		}
	}
	if n := len(env.Target.Receive(t)); n != 1 {
		t.Errorf("target notices = %d, want 1", n)
	}
	mails := env.Approver.Receive(t)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "sharing finished") {
		t.Errorf("approver messages = %+v, want one saying sharing finished", mails)
	}
	var audited bool
	for _, item := range env.Items(t) {
		audited = audited || strings.Contains(item, "action=sweep ") && strings.Contains(item, "outcome=shared ")
	}
	if !audited {
		t.Errorf("no audit record of the sweep")
	}

	calls.Reset()
	if swept, err := h.Handle(context.Background(), scheduled(t)); err != nil || len(swept) != 0 {
		t.Errorf("second sweep = %+v, %v, want nothing to do", swept, err)
	}
	if n := calls.Count("EC2.ModifyImageAttribute") + calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("second sweep made %d share or notice calls, want 0", n)
	}
}

// TestRunningApprovalIsLeftAlone: within its lease, an approval belongs to
// the invocation sharing it.
func TestRunningApprovalIsLeftAlone(t *testing.T) {
	env := approvaltest.New(t)
	calls := awstest.NewCalls()
	stuck(t, env, time.Now())
	h := newHandler(t, env, calls)
	if swept, err := h.Handle(context.Background(), scheduled(t)); err != nil || len(swept) != 0 {
		t.Errorf("Handle = %+v, %v, want nothing done", swept, err)
	}
	// (Writes would count the Scan, which only reads.)
	if n := calls.Count("DynamoDB.UpdateItem") + calls.Count("EC2.ModifyImageAttribute") + calls.Count("SNS.Publish"); n != 0 {
		t.Errorf("update, share or notice calls = %d (%s), want none", n, calls)
	}
}

// TestStoppedApprovalOfAnUnlistedAMIIsReverted: when Image Builder no
// longer lists an AMI, the sweep reverts: nothing stays shared.
func TestStoppedApprovalOfAnUnlistedAMIIsReverted(t *testing.T) {
	env := approvaltest.New(t)
	east, west := stuck(t, env, time.Now().Add(-approval.SharingLease-time.Minute))
	env.Built(env.Own(imageARN), approval.AMI{Region: "eu-west-1", ID: west})
	h := newHandler(t, env, awstest.NewCalls())
	swept, err := h.Handle(context.Background(), scheduled(t))
	if err != nil || len(swept) != 1 || swept[0].Outcome != approval.OutcomeRefused || !strings.Contains(swept[0].Reason, east) {
		t.Fatalf("Handle = %+v, %v, want one refused naming %s", swept, err, east)
	}
	for region, ami := range map[string]string{"us-east-1": east, "eu-west-1": west} {
		if got := approvaltest.LaunchPermissions(t, env.EC2(region), ami); len(got) != 0 {
			t.Errorf("launch permissions of %s = %v, want none", ami, got)
		}
	}
	if n := len(env.Target.Receive(t)); n != 0 {
		t.Errorf("target notices = %d, want 0", n)
	}
	if mails := env.Approver.Receive(t); len(mails) != 1 || !strings.Contains(mails[0].Body, "nothing is shared") {
		t.Errorf("approver messages = %+v, want one saying nothing is shared", mails)
	}
}
