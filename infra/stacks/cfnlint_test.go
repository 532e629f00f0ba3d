package stacks

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestCfnLint lints template.yaml and every synthesized stack. CI sets
// AWSTEST_REQUIRE, so there a missing cfn-lint fails instead of skipping.
func TestCfnLint(t *testing.T) {
	cfnLint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("AWSTEST_REQUIRE") == "" {
			t.Skip("cfn-lint is not on PATH (pip install cfn-lint); set AWSTEST_REQUIRE to fail instead")
		}
		t.Fatal("cfn-lint is not on PATH and AWSTEST_REQUIRE is set: pip install cfn-lint")
	}

	files := []string{samTemplatePath}
	dir := t.TempDir()
	for stack, tmpl := range suiteTemplates(t) {
		data, err := json.MarshalIndent(tmpl, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(dir, stack+".template.json")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, file)
	}

	out, err := exec.Command(cfnLint, append([]string{"--"}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %v: %v\n%s", files, err, out)
	}
}
