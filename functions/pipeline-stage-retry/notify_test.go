package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/notifytest"
)

const consoleLink = "https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/web-app/view?region=us-east-1"

func TestStageRetryNotifies(t *testing.T) {
	t.Parallel()
	t.Run("waits, then retries", func(t *testing.T) {
		fx := newFixture(t)
		inbox := fx.notifier(t)
		blocker := fx.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"})

		res := fx.handle(t, sample(t, "stage-failed.json"))
		notifytest.CheckOne(t, inbox, "Stage retry: web-app/HealthGate waits for AWS Health",
			"stage HealthGate of pipeline web-app", executionID, "re-check AWS Health at "+res.RunAt, "What to do:", consoleLink)

		// A later re-check, still blocked: nothing new to tell.
		fx.now = fx.now.Add(2 * time.Minute)
		if res := fx.fire(t, 1); res.Outcome != healthgate.RetryScheduled {
			t.Fatalf("re-check 1 = %+v, want scheduled", res)
		}
		notifytest.CheckNone(t, inbox)

		if err := fx.fake.SetEventStatus(blocker.ARN, "closed"); err != nil {
			t.Fatal(err)
		}
		fx.now = fx.now.Add(4 * time.Minute)
		if res := fx.fire(t, 2); res.Outcome != healthgate.RetryRetried {
			t.Fatalf("re-check 2 = %+v, want retried", res)
		}
		notifytest.CheckOne(t, inbox, "Stage retry: retried web-app/HealthGate",
			"retried the failed actions of stage HealthGate of pipeline web-app", "AWS Health is clear", "What to do:", consoleLink)
	})

	t.Run("gives up", func(t *testing.T) {
		fx := newFixture(t)
		inbox := fx.notifier(t)
		fx.fake.AddEvent(fakehealthgate.Event{Service: "RDS", Region: "us-east-1"})
		fx.now = failedAt.Add(6*time.Hour + time.Minute)
		if res := fx.handle(t, sample(t, "recheck.json")); res.Outcome != healthgate.RetryGaveUp {
			t.Fatalf("Handle past the window = %+v, want gaveUp", res)
		}
		notifytest.CheckOne(t, inbox, "Stage retry: gave up on web-app/HealthGate",
			"gave up on stage HealthGate of pipeline web-app", "MAX_RETRY_WINDOW", "What to do: check AWS Health", consoleLink)
	})

	t.Run("a redelivered failure tells nothing new", func(t *testing.T) {
		fx := newFixture(t)
		inbox := fx.notifier(t)
		fx.handle(t, sample(t, "stage-failed.json"))
		inbox.Receive(t)
		if res := fx.handle(t, sample(t, "stage-failed.json")); res.Outcome != healthgate.RetryDuplicate {
			t.Fatalf("redelivery = %+v, want duplicate", res)
		}
		notifytest.CheckNone(t, inbox)
	})
}

// TestRetryMessageLinksThePartitionsConsole: the console link is the
// Region's partition's (aws-cn and aws-us-gov have consoles of their own),
// and a message in a partition without a known console carries none.
func TestRetryMessageLinksThePartitionsConsole(t *testing.T) {
	t.Parallel()
	res := healthgate.RetryResult{Outcome: healthgate.RetryRetried, Pipeline: "web-app", Stage: "HealthGate", ExecutionID: executionID, Reason: "AWS Health is clear"}
	for region, want := range map[string]string{
		"us-east-1":     "https://us-east-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/web-app/view?region=us-east-1",
		"cn-north-1":    "https://console.amazonaws.cn/codesuite/codepipeline/pipelines/web-app/view?region=cn-north-1",
		"us-gov-west-1": "https://console.amazonaws-us-gov.com/codesuite/codepipeline/pipelines/web-app/view?region=us-gov-west-1",
		"us-iso-east-1": "",
	} {
		m, ok := retryMessage(region, res)
		if !ok {
			t.Fatalf("retryMessage(%s) sent nothing", region)
		}
		if want == "" {
			if strings.Contains(m.Body, "https://") {
				t.Errorf("retryMessage(%s) links %q, want no console link", region, m.Body)
			}
			continue
		}
		if !strings.Contains(m.Body, want) {
			t.Errorf("retryMessage(%s) body %q, want the link %s", region, m.Body, want)
		}
	}
}
