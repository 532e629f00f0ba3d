package main

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
)

// Each answer is a metric: passed, failed or waiting, by verdict, flushed
// before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	t.Parallel()
	waitJob := func(t *testing.T) json.RawMessage {
		return edit(t, sample(t, "job-continuation.json"), func(_, _, data map[string]any) { delete(data, "continuationToken") })
	}
	jsonParams := func(t *testing.T) json.RawMessage { return sample(t, "job-json-params.json") }
	tests := []struct {
		name    string
		blocked bool
		event   func(*testing.T) json.RawMessage
		job     string
		want    string
	}{
		{"pass", false, jsonParams, jsonJob, "GatePassed/" + string(healthgate.VerdictHealthy)},
		{"fail", true, jsonParams, jsonJob, "GateFailed/" + string(healthgate.VerdictBlocked)},
		{"wait", true, waitJob, continuationJob, "GateWaiting/" + string(healthgate.VerdictWaiting)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			var out bytes.Buffer
			f.h.metrics = metrics.New("gate-fn", &out)
			if tt.blocked {
				f.fake.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"})
			}
			f.answer(t, tt.event(t), tt.job)
			emf.Want(t, out.Bytes(), "gate-fn", map[string]float64{tt.want: 1})
		})
	}
}
