package main

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// Each decision is a metric by outcome, and each refused page by status,
// flushed before Handle returns.
func TestDecisionsAreMetrics(t *testing.T) {
	f := newFixture(t, approvalURL)
	var out bytes.Buffer
	f.h.metrics = metrics.New("link-fn", &out)
	_, token := f.singleRegion(t)

	for _, tc := range []struct {
		file string
		want string
	}{
		{"post-approve.json", "ApprovalDecisions/" + approval.OutcomeShared},
		{"post-approve.json", "ApprovalDecisionsRepeated/" + approval.OutcomeShared},
	} {
		out.Reset()
		f.serve(t, linkEvent(t, tc.file, token))
		emf.Want(t, out.Bytes(), "link-fn", map[string]float64{tc.want: 1})
	}
	out.Reset()
	f.serve(t, linkEvent(t, "post-approve.json", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"))
	emf.Want(t, out.Bytes(), "link-fn", map[string]float64{"ApprovalPagesRefused/" + http.StatusText(http.StatusNotFound): 1})
}
