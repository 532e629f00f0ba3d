package main

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// faulted is newFixture with the clients' calls (under the gate's role)
// going through the fault transport to the IAM layer and on to the fake,
// which speaks the wire protocol on loopback.
func faulted(t *testing.T, rules ...fault.Rule) (fixture, *fault.Transport) {
	t.Helper()
	f := newFixture(t)
	cfg, tr := fault.Wrap(f.roleCfg, rules...)
	f.h.gate.Health, f.h.gate.Jobs = health.NewFromConfig(cfg), codepipeline.NewFromConfig(cfg)
	return f, tr
}

// Under faults the gate retries through the SDK's retryer and answers
// CodePipeline exactly once: an outage of AWS Health fails the job naming
// the outage (it never passes on a failed read); a short throttle is
// ridden out; an answer that cannot be delivered is returned as an error,
// so Lambda retries the invocation, which answers once when faults stop.
func TestGateUnderFaults(t *testing.T) {
	t.Parallel()
	ev := sample(t, "job-json-params.json")
	t.Run("Health unavailable", func(t *testing.T) {
		f, tr := faulted(t, fault.Unavailable("Health", "DescribeEvents"))
		a := f.answer(t, ev, jsonJob)
		if a.Success || !strings.Contains(a.Message, "HTTP 503") {
			t.Errorf("answer = %+v, want a failure naming the HTTP 503", a)
		}
		if n := tr.Injected("Health", "DescribeEvents"); n != 3 {
			t.Errorf("DescribeEvents failed %d times, want the retryer's 3 attempts", n)
		}
	})
	for _, rule := range []fault.Rule{
		fault.Throttle("Health", "DescribeEvents"),
		fault.TooManyRequests("Health", "DescribeEvents"),
		fault.ServerError("CodePipeline", "PutJobSuccessResult"),
	} {
		t.Run("short "+rule.Operation+" "+rule.Code, func(t *testing.T) {
			rule.Times = 2
			f, tr := faulted(t, rule)
			if a := f.answer(t, ev, jsonJob); !a.Success {
				t.Errorf("answer = %+v, want the success a healthy account gets", a)
			}
			if n := tr.Injected(rule.Service, rule.Operation); n != 2 {
				t.Errorf("%s failed %d times, want 2 ridden out", rule.Operation, n)
			}
		})
	}
	t.Run("CodePipeline unavailable", func(t *testing.T) {
		f, tr := faulted(t, fault.Unavailable("CodePipeline", "PutJobSuccessResult"))
		res, err := f.h.Handle(context.Background(), ev)
		if err == nil || res.Answered || !strings.Contains(err.Error(), "ServiceUnavailable") {
			t.Fatalf("Handle = %+v, %v, want an error naming ServiceUnavailable for Lambda to retry", res, err)
		}
		if n := len(f.fake.AnswersFor(jsonJob)); n != 0 {
			t.Fatalf("answers = %d, want none delivered", n)
		}
		tr.Set()
		f.answer(t, ev, jsonJob) // exactly one answer, on Lambda's retry
	})
}
