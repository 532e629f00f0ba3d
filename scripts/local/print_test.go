package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogLine(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{
			name: "lambdacontext JSON record",
			line: `{"timestamp":"2026-11-22T02:47:53Z","level":"INFO","message":"decision","requestId":"r-1","outcome":"created","reason":"","volumeId":"vol-1"}`,
			want: `INFO  decision outcome=created reason="" volumeId=vol-1`,
		},
		{
			name: "nested values stay JSON",
			line: `{"level":"ERROR","message":"cleanup summary","failed":[],"skipped":{"a b":1},"dryRun":true}`,
			want: `ERROR cleanup summary failed=[] skipped={"a b":1} dryRun=true`,
		},
		{
			name: "plain text passes unchanged",
			line: `2026/11/22 02:47:53 {"errorMessage":"boom","errorType":"errorString"}`,
			want: `2026/11/22 02:47:53 {"errorMessage":"boom","errorType":"errorString"}`,
		},
		{
			name: "JSON that is not a log record passes unchanged",
			line: `{"errorMessage":"boom"}`,
			want: `{"errorMessage":"boom"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := logLine(tt.line); got != tt.want {
				t.Errorf("logLine(%s) = %s, want %s", tt.line, got, tt.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	volumes := func(rows ...row) state {
		return state{{Kind: "volume", Headers: []string{"STATE", "ATTACHED TO"}, Rows: rows}}
	}
	before := volumes(
		row{ID: "vol-1", Name: "web-1 root", Cols: []string{"in-use", "web-1 /dev/sda1"}, Tags: map[string]string{}},
		row{ID: "vol-2", Name: "scratch", Cols: []string{"available", "-"}, Tags: map[string]string{"delete-volume": "true"}},
	)
	after := volumes(
		row{ID: "vol-1", Name: "web-1 root", Cols: []string{"available", "-"}, Tags: map[string]string{"delete-volume": "true"}},
		row{ID: "vol-3", Cols: []string{"in-use", "web-1 /dev/sda1"}, Tags: map[string]string{}},
	)
	want := []string{
		"~ volume vol-1 (web-1 root): state in-use → available; attached to web-1 /dev/sda1 → -; tag +delete-volume=true",
		"+ volume vol-3 created: state in-use; attached to web-1 /dev/sda1",
		"- volume vol-2 (scratch) deleted",
	}
	if d := cmp.Diff(want, diff(before, after)); d != "" {
		t.Errorf("diff() (-want +got):\n%s", d)
	}
	if got := diff(after, after); len(got) != 0 {
		t.Errorf("diff(s, s) = %q, want nothing", got)
	}
}

func TestWithInstance(t *testing.T) {
	tests := []struct {
		name, event, want string
	}{
		{"direct request", `{"instanceId":"i-0","restoreTo":"launch-state"}`, `{"instanceId":"i-1","restoreTo":"launch-state"}`},
		{"EventBridge detail", `{"detail":{"instanceId":"i-0"},"source":"x"}`, `{"detail":{"instanceId":"i-1"},"source":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withInstance([]byte(tt.event), "i-1")
			if err != nil || string(got) != tt.want {
				t.Errorf("withInstance(%s) = %s, %v; want %s", tt.event, got, err, tt.want)
			}
		})
	}
}
