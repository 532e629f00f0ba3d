package main

import (
	"bytes"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/healthgate/fake"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each answer is a metric: passed, failed or waiting, by verdict, flushed
// before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	t.Run("pass", func(t *testing.T) {
		f := newFixture(t)
		var out bytes.Buffer
		f.h.metrics = metrics.New("gate-fn", &out)
		f.answer(t, sample(t, "job-json-params.json"), jsonJob)
		emf.Want(t, out.Bytes(), "gate-fn", map[string]float64{"GatePassed/" + string(healthgate.VerdictHealthy): 1})
	})
	t.Run("fail", func(t *testing.T) {
		f := newFixture(t)
		var out bytes.Buffer
		f.h.metrics = metrics.New("gate-fn", &out)
		f.fake.AddEvent(fake.Event{Service: "EC2", Region: "us-east-1"})
		f.answer(t, sample(t, "job-json-params.json"), jsonJob)
		emf.Want(t, out.Bytes(), "gate-fn", map[string]float64{"GateFailed/" + string(healthgate.VerdictBlocked): 1})
	})
	t.Run("wait", func(t *testing.T) {
		f := newFixture(t)
		var out bytes.Buffer
		f.h.metrics = metrics.New("gate-fn", &out)
		f.fake.AddEvent(fake.Event{Service: "EC2", Region: "us-east-1"})
		first := edit(t, sample(t, "job-continuation.json"), func(_, _, data map[string]any) { delete(data, "continuationToken") })
		f.answer(t, first, continuationJob)
		emf.Want(t, out.Bytes(), "gate-fn", map[string]float64{"GateWaiting/" + string(healthgate.VerdictWaiting): 1})
	})
}
