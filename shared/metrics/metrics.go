// Package metrics writes the suite's decisions as CloudWatch embedded metric
// format (EMF) lines: one JSON object a line on standard output, which
// Lambda sends to the function's log group and CloudWatch Logs turns into
// metrics, with no PutMetricData call and no extra permission.
//
// Every metric has the function's name as a dimension; a metric that says
// why (a volume kept, an approval refused) also has a Reason dimension.
package metrics

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/clock"
)

// Namespace holds every metric of the suite.
const Namespace = "LambdaSuite"

// Dimension names.
const (
	DimFunction = "FunctionName"
	DimReason   = "Reason"
)

// Recorder counts a function's decisions during one invocation and writes
// them with Flush. It is safe for concurrent use. The zero Recorder is not
// usable; a nil *Recorder records nothing, so code under test may pass nil.
type Recorder struct {
	function string
	w        io.Writer
	now      func() time.Time // the wall clock when nil (clock.Now)

	mu     sync.Mutex
	counts map[key]float64
	units  map[string]string // a metric's EMF unit when it is not Count
}

type key struct{ name, reason string }

// New returns a Recorder for function that writes to w (os.Stdout when nil).
func New(function string, w io.Writer) *Recorder {
	if w == nil {
		w = os.Stdout
	}
	return &Recorder{function: function, w: w, counts: map[key]float64{}}
}

// Add counts n of metric name, such as "SnapshotsCreated".
func (r *Recorder) Add(name string, n int) { r.AddReason(name, "", n) }

// AddReason counts n of metric name for reason, such as
// ("VolumesKept", "no replacement record").
func (r *Recorder) AddReason(name, reason string, n int) {
	if r == nil || n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[key{name, reason}] += float64(n)
}

// AddValue adds v of metric name for reason ("" for none), a quantity in
// unit rather than a count: one of CloudWatch's units, such as
// "Gigabytes", or "None" for a currency
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_MetricDatum.html).
func (r *Recorder) AddValue(name, reason string, v float64, unit string) {
	if r == nil || v == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.counts[key{name, reason}] += v
	if r.units == nil {
		r.units = map[string]string{}
	}
	r.units[name] = unit
}

// Flush writes what was counted since the last Flush, one EMF line per
// dimension set, and starts again. Errors writing to standard output are
// ignored: metrics must never fail an invocation.
func (r *Recorder) Flush() {
	if r == nil {
		return
	}
	r.mu.Lock()
	counts, units := r.counts, r.units
	r.counts, r.units = map[key]float64{}, nil
	r.mu.Unlock()
	if len(counts) == 0 {
		return
	}
	// Group by reason: one line for the plain metrics, one per reason.
	byReason := map[string]map[string]float64{}
	for k, v := range counts {
		if byReason[k.reason] == nil {
			byReason[k.reason] = map[string]float64{}
		}
		byReason[k.reason][k.name] += v
	}
	ts := clock.Now(r.now).UnixMilli()
	for _, reason := range slices.Sorted(maps.Keys(byReason)) {
		line, err := json.Marshal(r.document(ts, reason, byReason[reason], units))
		if err != nil {
			continue
		}
		r.w.Write(append(line, '\n')) //nolint:errcheck // see Flush's comment
	}
}

type metricDef struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type directive struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []metricDef `json:"Metrics"`
}

func (r *Recorder) document(ts int64, reason string, values map[string]float64, units map[string]string) map[string]any {
	dims := []string{DimFunction}
	doc := map[string]any{DimFunction: r.function}
	if reason != "" {
		dims = append(dims, DimReason)
		doc[DimReason] = reason
	}
	var defs []metricDef
	for _, name := range slices.Sorted(maps.Keys(values)) {
		unit := units[name]
		if unit == "" {
			unit = "Count"
		}
		defs = append(defs, metricDef{Name: name, Unit: unit})
		doc[name] = values[name]
	}
	doc["_aws"] = map[string]any{
		"Timestamp":         ts,
		"CloudWatchMetrics": []directive{{Namespace: Namespace, Dimensions: [][]string{dims}, Metrics: defs}},
	}
	return doc
}
