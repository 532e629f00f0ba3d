package iam

import (
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
)

// TestEveryTemplateResolves reads every capability's template as the layer
// does: each function has a role whose policies parse.
func TestEveryTemplateResolves(t *testing.T) {
	for _, file := range []string{"root-volume.yaml", "disk-alarm.yaml", "health-gate.yaml", "ami-approval.yaml"} {
		t.Run(file, func(t *testing.T) {
			st, err := LoadStack(file, cfn.Env{Account: "123456789012", Region: "us-east-1"})
			if err != nil {
				t.Fatal(err)
			}
			if len(st.Functions()) == 0 {
				t.Fatalf("%s: no functions", file)
			}
			for _, fn := range st.Functions() {
				role, _ := st.RoleOf(fn)
				pols, arn, _ := st.RolePolicies(role)
				if len(pols) == 0 || arn == "" {
					t.Errorf("%s %s: role %s (%s) has no policies", file, fn, role, arn)
				}
				t.Logf("%s -> %s: %d policies", fn, role, len(pols))
			}
		})
	}
}
