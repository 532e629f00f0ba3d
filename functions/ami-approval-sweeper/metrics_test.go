package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each approval the sweep finishes is a metric by outcome, flushed before
// Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	env := approvaltest.New(t)
	stuck(t, env, time.Now().Add(-approval.SharingLease-time.Minute))
	h := newHandler(t, env, awstest.NewCalls())
	var out bytes.Buffer
	h.metrics = metrics.New("sweeper-fn", &out)
	if _, err := h.Handle(context.Background(), scheduled(t)); err != nil {
		t.Fatal(err)
	}
	emf.Want(t, out.Bytes(), "sweeper-fn", map[string]float64{"ApprovalsSwept/" + approval.OutcomeShared: 1})
}
