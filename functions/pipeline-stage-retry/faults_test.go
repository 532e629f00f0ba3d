package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fault"
)

// Under faults the function retries through the SDK's retryer; a failed
// read (the pipeline's state, AWS Health) retries no stage, a failed
// schedule is not lost: the event fails with the reason, so Lambda retries
// it and then sends it to the on-failure destination. Once faults stop,
// the event schedules one re-check; a re-check under a Health outage
// schedules the next, which retries the stage once.
func TestStageRetryUnderFaults(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	cfg, tr := fault.Wrap(fx.pipelineCfg)
	fx.h.retrier.CodePipeline, fx.h.retrier.Health = codepipeline.NewFromConfig(cfg), health.NewFromConfig(cfg)
	schedCfg, motoTr := fault.Wrap(fx.roleCfg)
	fx.h.retrier.Scheduler = scheduler.NewFromConfig(schedCfg)
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "test", InvokedFunctionArn: functionARN})

	failed := sample(t, "stage-failed.json")
	for _, tc := range []struct {
		tr   *fault.Transport
		rule fault.Rule
	}{
		{tr, fault.Unavailable("CodePipeline", "GetPipelineState")},
		{tr, fault.Throttle("CodePipeline", "")},
		{motoTr, fault.ServerError("Scheduler", "CreateSchedule")},
		{motoTr, fault.TooManyRequests("Scheduler", "")},
	} {
		t.Run(tc.rule.Service+" "+tc.rule.Operation+" "+tc.rule.Code, func(t *testing.T) {
			tc.tr.Set(tc.rule)
			defer tc.tr.Set()
			res, err := fx.h.Handle(ctx, failed)
			if err == nil || !strings.Contains(err.Error(), tc.rule.Code) {
				t.Fatalf("Handle under %s = %+v, %v, want an error naming it (for the on-failure destination)", tc.rule.Code, res, err)
			}
			if n := tc.tr.Injected(tc.rule.Service, tc.rule.Operation); tc.rule.Operation != "" && n < 3 {
				t.Errorf("%s failed %d times, want the retryer's 3 attempts", tc.rule.Operation, n)
			}
			if n := len(fx.schedules(t)); n != 0 {
				t.Errorf("schedules = %d, want none", n)
			}
		})
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
		t.Fatalf("RetryStageExecution calls = %d, want 0", n)
	}

	// Faults stop: one re-check is scheduled.
	if res := fx.handle(t, failed); res.Outcome != healthgate.RetryScheduled {
		t.Fatalf("Handle once faults stop = %+v, want scheduled", res)
	}
	if n := len(fx.schedules(t)); n != 1 {
		t.Fatalf("schedules = %d, want 1", n)
	}

	// The re-check under a Health outage retries no stage.
	fx.now = fx.now.Add(2 * time.Minute)
	var input json.RawMessage
	for _, s := range fx.schedules(t) {
		input = json.RawMessage(*s.Target.Input)
	}
	tr.Set(fault.Unavailable("Health", "DescribeEvents"))
	res, err := fx.h.Handle(ctx, input)
	if err != nil || res.Outcome != healthgate.RetryScheduled || !strings.Contains(res.Reason, "HTTP 503") {
		t.Fatalf("re-check under a Health outage = %+v, %v, want the next re-check scheduled, naming the 503", res, err)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 0 {
		t.Fatalf("RetryStageExecution calls under a Health outage = %d, want 0", n)
	}
	tr.Set()
	fx.now = fx.now.Add(15 * time.Minute)
	if res := fx.fire(t, res.Check); res.Outcome != healthgate.RetryRetried {
		t.Fatalf("next re-check once faults stop = %+v, want retried", res)
	}
	if n := fx.fake.Count("CodePipeline.RetryStageExecution"); n != 1 {
		t.Errorf("RetryStageExecution calls = %d, want exactly 1", n)
	}
}
