package iam

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam/policy"
)

// ReportDirEnv names the directory where layers write what they evaluated,
// one JSON line a decision, for the least-privilege report (make iam).
// Unset: nothing is written.
const ReportDirEnv = "IAM_REPORT_DIR"

// Record is one line of the report log.
type Record struct {
	Kind     string `json:"kind"` // "principal" or "decision"
	Template string `json:"template,omitempty"`
	Role     string `json:"role"`
	// Package and Test are the test that made the principal (its top-level
	// name), so that a statement can be dropped under the test that needs it.
	Package    string        `json:"package,omitempty"`
	Test       string        `json:"test,omitempty"`
	Action     string        `json:"action,omitempty"`
	Resource   string        `json:"resource,omitempty"`
	Decision   string        `json:"decision,omitempty"`
	By         *policy.Match `json:"by,omitempty"`
	Statements []Statement   `json:"statements,omitempty"`
}

// Statement is one statement of a role's policy, as the report lists it.
type Statement struct {
	Source  string   `json:"source"`
	Index   int      `json:"index"`
	Sid     string   `json:"sid,omitempty"`
	Effect  string   `json:"effect"`
	Actions []string `json:"actions"`
}

type reportLog struct {
	mu  sync.Mutex
	f   *os.File
	enc *json.Encoder
}

func openReport() (*reportLog, error) {
	dir := os.Getenv(ReportDirEnv)
	if dir == "" {
		return &reportLog{}, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil { // #nosec G703 -- the report directory the test run names in IAM_REPORT_DIR
		return nil, err
	}
	f, err := os.CreateTemp(dir, fmt.Sprintf("layer-%d-*.jsonl", os.Getpid()))
	if err != nil {
		return nil, err
	}
	return &reportLog{f: f, enc: json.NewEncoder(f)}, nil
}

func (r *reportLog) write(rec Record) {
	if r == nil || r.enc == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.enc.Encode(rec)
}

func (r *reportLog) close() {
	if r != nil && r.f != nil {
		_ = r.f.Close()
	}
}

func (r *reportLog) principal(p *Principal) {
	if p.Template == "" {
		return // a test's own principal: not the templates' business
	}
	rec := Record{Kind: "principal", Template: p.Template, Role: p.Name, Package: p.Package, Test: p.Test}
	for _, src := range p.Policies {
		for i, s := range src.Doc.Statement {
			rec.Statements = append(rec.Statements, Statement{Source: src.Name, Index: i, Sid: s.Sid, Effect: s.Effect, Actions: append(s.Action, s.NotAction...)})
		}
	}
	r.write(rec)
}

func (r *reportLog) decision(p *Principal, action, resource string, res policy.Result) {
	if p.Template == "" {
		return
	}
	r.write(Record{Kind: "decision", Template: p.Template, Role: p.Name, Package: p.Package, Test: p.Test, Action: action, Resource: resource, Decision: string(res.Decision), By: res.By})
}

// ReadReport reads every report log under dir.
func ReadReport(dir string) ([]Record, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, f := range files {
		data, err := os.ReadFile(f) // #nosec G304 -- the report directory the caller named
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		for dec.More() {
			var rec Record
			if err := dec.Decode(&rec); err != nil {
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			out = append(out, rec)
		}
	}
	return out, nil
}
