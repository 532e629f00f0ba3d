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

// A named approver's vote short of the quorum is a vote metric, not a
// decision.
func TestVotesAreMetrics(t *testing.T) {
	f := newFixture(t, approvalURL)
	var out bytes.Buffer
	f.h.metrics = metrics.New("link-fn", &out)
	_, tokens := f.namedRequest(t, f.named(t, 2))
	for _, want := range []string{"ApprovalVotes/counted", "ApprovalVotes/repeated"} {
		out.Reset()
		f.post(t, "approve", tokens["alice@example.com"])
		emf.Want(t, out.Bytes(), "link-fn", map[string]float64{want: 1})
	}
}
