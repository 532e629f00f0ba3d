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
