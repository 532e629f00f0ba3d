package stacks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
)

// TestCfnLint lints template.yaml, every per-capability SAM template and
// every synthesized stack. CI sets AWSTEST_REQUIRE, so there a missing
// cfn-lint fails instead of skipping.
func TestCfnLint(t *testing.T) {
	files := []string{samTemplatePath}
	for _, file := range samCapabilityTemplates {
		files = append(files, file)
	}
	slices.Sort(files)
	cfnLintTemplates(t, files, suiteTemplates(t))
}

// cfnLintTemplates runs cfn-lint on files and on templates (by name) in one
// call. Without cfn-lint it skips, or fails when AWSTEST_REQUIRE is set.
func cfnLintTemplates(t *testing.T, files []string, templates map[string]map[string]any) {
	t.Helper()
	cfnLint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("AWSTEST_REQUIRE") == "" {
			t.Skip("cfn-lint is not on PATH (pip install cfn-lint); set AWSTEST_REQUIRE to fail instead")
		}
		t.Fatal("cfn-lint is not on PATH and AWSTEST_REQUIRE is set: pip install cfn-lint")
	}

	dir := t.TempDir()
	for name, tmpl := range templates {
		data, err := json.MarshalIndent(tmpl, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, name+".template.json")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}

	out, err := exec.Command(cfnLint, append([]string{"--"}, files...)...).CombinedOutput() // #nosec G204 -- cfn-lint from PATH on the test's own templates
	if err != nil {
		t.Errorf("cfn-lint %v: %v\n%s", files, err, out)
	}
}
