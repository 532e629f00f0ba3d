package testkit

import (
	"os/exec"
	"strings"
	"testing"
)

// TestFunctionsShipNoTooling: a function binary must never answer from a
// fake or a test harness, so no package a function's main depends on may be
// test or local-run tooling.
func TestFunctionsShipNoTooling(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	var functions int
	for _, p := range deps {
		if strings.Contains(p, "/functions/") {
			functions++
		}
		for _, tooling := range []string{"/shared/testkit", "/scripts/", "/notifytest", "go-cmp", "chromedp"} {
			if strings.Contains(p, tooling) {
				t.Errorf("a function binary depends on %s", p)
			}
		}
	}
	if functions == 0 {
		t.Fatalf("go list -deps named no function package:\n%s", out)
	}
}

// TestFunctionsKeepDeadCodeElimination: no function binary links
// text/template (html/template builds on it). It calls methods by a name
// known only at run time, so the linker keeps every exported method of
// every type that reaches an interface: with it, ami-approval-link carried
// all of EC2's operations and was 44 MB instead of 11.6 MB. Built as the
// stacks build the functions (lambda.norpc: without it aws-lambda-go's
// net/rpc brings html/template in).
func TestFunctionsKeepDeadCodeElimination(t *testing.T) {
	out, err := exec.Command("go", "list", "-tags", "lambda.norpc", "-deps", "../../functions/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "text/template" || p == "html/template" {
			t.Errorf("a function binary links %s: render without it (see the README's Performance section)", p)
		}
	}
}
