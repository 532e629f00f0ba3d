package main

import (
	"bytes"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each message's outcome is a metric, flushed before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	f := newFixture(t)
	var out bytes.Buffer
	f.h.metrics = metrics.New("request-fn", &out)
	ev := f.built(t, sample(t, "available-single-region.json"))
	for _, want := range []string{approval.Requested, approval.Duplicate} {
		out.Reset()
		f.handle(t, ev, want)
		emf.Want(t, out.Bytes(), "request-fn", map[string]float64{"ApprovalRequests/" + want: 1})
	}
}
