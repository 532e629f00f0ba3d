package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each run writes what it deleted and what it kept, by reason, flushed
// before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	f := newFixture(t)
	inst, _ := f.instance(t, "web")
	f.replace(t, inst)
	f.advance(t, 10*time.Minute) // the task succeeds
	var out bytes.Buffer
	h := f.cleaner()
	h.metrics = metrics.New("cleanup-fn", &out)

	f.run(t, h)
	emf.Want(t, out.Bytes(), "cleanup-fn", map[string]float64{
		"VolumesKept/" + string(rootvolume.ReasonRollbackWindow): 1, "RecordsUpdated": 1, "VolumesDeleted": 0,
	})
	f.advance(t, 25*time.Hour)
	out.Reset()
	f.run(t, h)
	emf.Want(t, out.Bytes(), "cleanup-fn", map[string]float64{"VolumesDeleted": 1})
}
