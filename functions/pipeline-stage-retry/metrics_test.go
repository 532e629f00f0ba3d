package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each decision is a metric by outcome, flushed before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	t.Parallel()
	fx := newFixture(t)
	var out bytes.Buffer
	fx.h.metrics = metrics.New("retry-fn", &out)
	fx.handle(t, sample(t, "stage-failed.json"))
	emf.Want(t, out.Bytes(), "retry-fn", map[string]float64{"StageRetryDecisions/" + healthgate.RetryScheduled: 1})
	out.Reset()
	fx.now = fx.now.Add(2 * time.Minute)
	fx.fire(t, 1)
	emf.Want(t, out.Bytes(), "retry-fn", map[string]float64{"StageRetryDecisions/" + healthgate.RetryRetried: 1})
}
