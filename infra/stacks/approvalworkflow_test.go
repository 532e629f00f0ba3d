package stacks

import (
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// TestApprovalStepWaitingRule: Image Builder's waiting-step event reaches
// the request function.
func TestApprovalStepWaitingRule(t *testing.T) {
	tmpl := defaultApproval(t)
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": map[string]any{
				"source":      []any{"aws.imagebuilder"},
				"detail-type": []any{"EC2 Image Builder Workflow Step Waiting"},
			},
			"Targets": []any{map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{functionID(t, tmpl, AmiApprovalRequest), "Arn"}}, "Id": "Target0"}},
		})
	})
}

// TestApprovalExamplePipelineOffByDefault: every resource of the example
// is made only when the parameter says true, and its default is false.
func TestApprovalExamplePipelineOffByDefault(t *testing.T) {
	tmpl := defaultApproval(t)
	check(t, func() {
		tmpl.HasParameter(jsii.String("AmiApprovalExamplePipeline"), map[string]any{"Default": "false", "AllowedValues": []any{"true", "false"}})
		tmpl.HasCondition(jsii.String(approvalExampleCnd), map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AmiApprovalExamplePipeline"}, "true"}})
	})
	for _, id := range []string{approvalExampleWorkflowID, "AmiApprovalExampleInstanceRole", approvalExampleExecutionRoleID, "AmiApprovalExampleInstanceProfile",
		"AmiApprovalExampleInfrastructure", "AmiApprovalExampleRecipe", "AmiApprovalExampleDistribution", approvalExamplePipelineID} {
		r, ok := allResources(tmpl)[id]
		if !ok || r["Condition"] != approvalExampleCnd {
			t.Errorf("example resource %s: present %v, condition %v; want it under %s", id, ok, r["Condition"], approvalExampleCnd)
		}
	}
	pipeline := allResources(tmpl)[approvalExamplePipelineID]["Properties"].(map[string]any)
	wfs, _ := pipeline["Workflows"].([]any)
	if len(wfs) != 2 {
		t.Fatalf("example pipeline workflows = %v, want the managed build workflow and the approval test workflow", wfs)
	}
	if got := wfs[1].(map[string]any)["WorkflowArn"]; !strings.Contains(strings.Join(flatten(got), " "), approvalExampleWorkflowID) {
		t.Errorf("example pipeline's test workflow = %v, want %s", got, approvalExampleWorkflowID)
	}
}

// TestApprovalExamplePipelineExecutionRole: a pipeline with workflows needs
// an execution role (Image Builder refuses one without); the example's is
// assumed by Image Builder for this account only, has the managed policy
// Image Builder documents for it, and exists exactly when the pipeline does.
// The CDK stack and the SAM template agree.
func TestApprovalExamplePipelineExecutionRole(t *testing.T) {
	for name, tmpl := range map[string]map[string]any{
		"CDK": *defaultApproval(t).ToJSON(),
		"SAM": readSAMTemplate(t, samCapabilityTemplates["AmiApproval"]),
	} {
		t.Run(name, func(t *testing.T) {
			r := newResolver(tmpl)
			res := r.resolve(tmpl["Resources"]).(map[string]any)
			pipeline, role := res[approvalExamplePipelineID], res[approvalExampleExecutionRoleID]
			if got, want := dig(pipeline, "Properties", "ExecutionRole"), "${"+approvalExampleExecutionRoleID+".Arn}"; got != want {
				t.Errorf("example pipeline's ExecutionRole = %v, want %s", got, want)
			}
			if got := dig(role, "Type"); got != "AWS::IAM::Role" {
				t.Fatalf("%s: type %v, want AWS::IAM::Role", approvalExampleExecutionRoleID, got)
			}
			if got := dig(role, "Condition"); got != approvalExampleCnd {
				t.Errorf("%s: condition %v, want %s", approvalExampleExecutionRoleID, got, approvalExampleCnd)
			}
			trust := []any{map[string]any{
				"Effect": "Allow", "Principal": map[string]any{"Service": "imagebuilder.amazonaws.com"}, "Action": "sts:AssumeRole",
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": "${AWS::AccountId}"}},
			}}
			if diff := cmp.Diff(trust, dig(role, "Properties", "AssumeRolePolicyDocument", "Statement")); diff != "" {
				t.Errorf("%s trust (-want +got):\n%s", approvalExampleExecutionRoleID, diff)
			}
			managed := []any{"arn:${AWS::Partition}:iam::aws:policy/EC2ImageBuilderExecutionPolicy"}
			if diff := cmp.Diff(managed, dig(role, "Properties", "ManagedPolicyArns")); diff != "" {
				t.Errorf("%s managed policies (-want +got):\n%s", approvalExampleExecutionRoleID, diff)
			}
		})
	}
}

// TestApprovalWorkflowDocument: the example document waits at ApproveImage
// (WaitForAction, within the 7-day maximum) as its last step, so the
// distribution runs only once the step is resumed; infra/sam/ami-approval.yaml
// carries the same document.
func TestApprovalWorkflowDocument(t *testing.T) {
	var raw struct {
		Steps []map[string]any `yaml:"steps"`
	}
	if err := yaml.Unmarshal([]byte(approvalWorkflowDocument), &raw); err != nil {
		t.Fatalf("workflow document: %v", err)
	}
	last := raw.Steps[len(raw.Steps)-1]
	if last["name"] != "ApproveImage" || last["action"] != "WaitForAction" || last["onFailure"] != "Abort" {
		t.Errorf("last step = %v, want ApproveImage, WaitForAction, onFailure Abort", last)
	}
	if to, _ := last["timeoutSeconds"].(int); to <= 0 || to > 604800 {
		t.Errorf("ApproveImage timeoutSeconds = %v, want 1..604800 (7 days)", last["timeoutSeconds"])
	}

	b, err := os.ReadFile(samCapabilityTemplates["AmiApproval"])
	if err != nil {
		t.Fatal(err)
	}
	var sam struct {
		Resources map[string]struct {
			Properties struct {
				Data string `yaml:"Data"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &sam); err != nil {
		t.Fatalf("infra/sam/ami-approval.yaml: %v", err)
	}
	if got := sam.Resources[approvalExampleWorkflowID].Properties.Data; got != approvalWorkflowDocument {
		t.Errorf("infra/sam/ami-approval.yaml's %s document differs from workflows/approve-before-distribution.yaml:\n%s", approvalExampleWorkflowID, got)
	}
}

// allResources returns every resource of the template, by logical ID.
func allResources(tmpl assertions.Template) map[string]map[string]any {
	out := map[string]map[string]any{}
	rs, _ := (*tmpl.ToJSON())["Resources"].(map[string]any)
	for id, r := range rs {
		if m, ok := r.(map[string]any); ok {
			out[id] = m
		}
	}
	return out
}

// flatten lists the strings inside an intrinsic function's value.
func flatten(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			out = append(out, flatten(x)...)
		}
		return out
	case map[string]any:
		var out []string
		for _, x := range v {
			out = append(out, flatten(x)...)
		}
		return out
	}
	return nil
}
