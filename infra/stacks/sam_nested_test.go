package stacks

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// samApps are template.yaml's nested applications: logical ID, the CDK stack
// key of the capability (samCapabilityTemplates) and the parameter that
// switches it on.
var samApps = []struct{ id, stack, deploy string }{
	{"RootVolume", "RootVolume", "DeployRootVolume"},
	{"DiskAlarm", "DiskAlarm", "DeployDiskAlarm"},
	{"AmiApproval", "AmiApproval", "DeployAmiApproval"},
	{"HealthGate", "PipelineHealth", "DeployHealthGate"},
}

// requiredParameter is the one parameter of a per-capability template with
// no default: the accounts an approved AMI is shared with cannot be guessed.
const requiredParameter = "AmiApprovalTargetAccountIds"

// TestSAMSuiteNestsEveryCapability keeps template.yaml the whole-suite entry
// point: it nests every per-capability template under its Deploy switch,
// declares their parameters exactly as they do and passes each through, and
// gives every output they give.
func TestSAMSuiteNestsEveryCapability(t *testing.T) {
	suite := readSAMTemplate(t, samTemplatePath)
	resources, _ := suite["Resources"].(map[string]any)
	suiteParams, _ := suite["Parameters"].(map[string]any)
	suiteOutputs, _ := suite["Outputs"].(map[string]any)

	if len(resources) != len(samApps) {
		t.Errorf("template.yaml has %d resources, want only the %d nested capabilities", len(resources), len(samApps))
	}
	nested, err := filepath.Glob("../../infra/sam/*.yaml")
	if err != nil || len(nested) != len(samApps) {
		t.Errorf("infra/sam holds %v (%v), want one template per capability: %d", nested, err, len(samApps))
	}

	passed := map[string]bool{}
	for _, app := range samApps {
		t.Run(app.id, func(t *testing.T) {
			file := samCapabilityTemplates[app.stack]
			res := resources[app.id]
			if got := dig(res, "Type"); got != "AWS::Serverless::Application" {
				t.Fatalf("template.yaml %s: Type %v, want AWS::Serverless::Application", app.id, got)
			}
			if got, want := dig(res, "Properties", "Location"), strings.TrimPrefix(file, "../../"); got != want {
				t.Errorf("template.yaml %s: Location %v, want %s", app.id, got, want)
			}
			if got, want := dig(res, "Condition"), app.deploy+"Condition"; got != want {
				t.Errorf("template.yaml %s: Condition %v, want %s", app.id, got, want)
			}
			if got := dig(suite, "Conditions", app.deploy+"Condition"); canonical(got) != canonical(map[string]any{"Fn::Equals": []any{map[string]any{"Ref": app.deploy}, "true"}}) {
				t.Errorf("template.yaml condition %sCondition = %s, want %s equal to true", app.deploy, canonical(got), app.deploy)
			}

			tmpl := readSAMTemplate(t, file)
			params, _ := tmpl["Parameters"].(map[string]any)
			given, _ := dig(res, "Properties", "Parameters").(map[string]any)
			for name, p := range params {
				passed[name] = true
				want := map[string]any{"Ref": name}
				if dig(p, "Type") == "CommaDelimitedList" {
					want = map[string]any{"Fn::Join": []any{",", map[string]any{"Ref": name}}}
				}
				if got := given[name]; canonical(got) != canonical(want) {
					t.Errorf("template.yaml %s passes %s as %s, want %s", app.id, name, canonical(got), canonical(want))
				}
				sp := suiteParams[name]
				if name == requiredParameter {
					// Empty is allowed in the suite, for a suite without approvals;
					// the rule asks for it when the capability is on.
					if dig(sp, "Default") != "" || !strings.HasPrefix(fmt.Sprint(dig(sp, "AllowedPattern")), "^$|") {
						t.Errorf("template.yaml %s: want Default \"\" and an AllowedPattern starting ^$|", name)
					}
					continue
				}
				if diff := cmp.Diff(p, sp); diff != "" {
					t.Errorf("parameter %s in template.yaml against %s (-%s +template.yaml):\n%s", name, file, file, diff)
				}
			}
			for name := range given {
				if _, ok := params[name]; !ok {
					t.Errorf("template.yaml %s passes %s, which %s does not declare", app.id, name, file)
				}
			}

			outputs, _ := tmpl["Outputs"].(map[string]any)
			for name := range outputs {
				out := suiteOutputs[name]
				if got, want := canonical(dig(out, "Value")), canonical(map[string]any{"Fn::GetAtt": []any{app.id, "Outputs." + name}}); got != want {
					t.Errorf("template.yaml output %s = %s, want %s", name, got, want)
				}
				if cond, _ := dig(out, "Condition").(string); !conditionNeeds(suite, cond, app.deploy+"Condition") {
					t.Errorf("template.yaml output %s: condition %q does not require %sCondition", name, cond, app.deploy)
				}
			}
		})
	}
	for name := range suiteParams {
		if !passed[name] && !slices.ContainsFunc(samApps, func(a struct{ id, stack, deploy string }) bool { return a.deploy == name }) {
			t.Errorf("template.yaml parameter %s reaches no nested template", name)
		}
	}
}

// conditionNeeds reports whether condition name is want, or an Fn::And of it.
func conditionNeeds(tmpl map[string]any, name, want string) bool {
	if name == want {
		return true
	}
	and, _ := dig(tmpl, "Conditions", name, "Fn::And").([]any)
	return slices.ContainsFunc(and, func(c any) bool { return dig(c, "Condition") == want })
}

// TestSAMParametersHaveDefaults: `sam deploy --guided` proposes a default
// for every parameter but one, the approval's target accounts.
func TestSAMParametersHaveDefaults(t *testing.T) {
	files := []string{samTemplatePath}
	for _, file := range samCapabilityTemplates {
		files = append(files, file)
	}
	for _, file := range files {
		params, _ := readSAMTemplate(t, file)["Parameters"].(map[string]any)
		for name, p := range params {
			if _, ok := p.(map[string]any)["Default"]; !ok && (name != requiredParameter || file != samCapabilityTemplates["AmiApproval"]) {
				t.Errorf("%s: parameter %s has no default", file, name)
			}
		}
	}
}

// TestSAMHealthGateExamplePipelineIsOff: nobody gets a pipeline they did not ask for.
func TestSAMHealthGateExamplePipelineIsOff(t *testing.T) {
	for _, file := range []string{samTemplatePath, samCapabilityTemplates["PipelineHealth"]} {
		if got := dig(readSAMTemplate(t, file), "Parameters", "HealthGateCreateExamplePipeline", "Default"); got != "false" {
			t.Errorf("%s: HealthGateCreateExamplePipeline defaults to %v, want false", file, got)
		}
	}
}

// TestSAMDiskAlarmsAlone shows that deploying only the disk alarms, with
// infra/sam/disk-alarm.yaml or with template.yaml and DeployDiskAlarm=true
// alone, creates the disk-alarm resources and nothing else.
func TestSAMDiskAlarmsAlone(t *testing.T) {
	file := samCapabilityTemplates["DiskAlarm"]
	checkDiskAlarmOnly := func(t *testing.T, tmpl map[string]any) {
		t.Helper()
		resources, _ := tmpl["Resources"].(map[string]any)
		var functions []string
		for id, res := range resources {
			// Every disk-alarm resource's logical ID starts with EbsAlarms,
			// but for the capability's own operational view (its topic and
			// dashboard; its alarms start with EbsAlarms).
			if !strings.HasPrefix(id, "EbsAlarms") && !slices.Contains(samOpsViewResources, id) {
				t.Errorf("%s: resource %s is not a disk-alarm resource", file, id)
			}
			if dig(res, "Type") == "AWS::Serverless::Function" {
				uri, _ := dig(res, "Properties", "CodeUri").(string)
				functions = append(functions, filepath.Base(uri))
			}
		}
		slices.Sort(functions)
		if diff := cmp.Diff(slices.Sorted(slices.Values(DiskAlarmFunctions)), functions); diff != "" {
			t.Errorf("%s functions (-want +got):\n%s", file, diff)
		}
	}

	t.Run("disk-alarm.yaml", func(t *testing.T) {
		checkDiskAlarmOnly(t, readSAMTemplate(t, file))
	})
	t.Run("template.yaml with DeployDiskAlarm alone", func(t *testing.T) {
		suite := readSAMTemplate(t, samTemplatePath)
		values := map[string]any{}
		for _, app := range samApps {
			values[app.deploy] = fmt.Sprint(app.id == "DiskAlarm")
		}
		var created []string
		for id, res := range suite["Resources"].(map[string]any) {
			cond, _ := dig(res, "Condition").(string)
			on, err := evalCondition(suite, cond, values)
			if err != nil {
				t.Fatal(err)
			}
			if on {
				created = append(created, id)
			}
		}
		if diff := cmp.Diff([]string{"DiskAlarm"}, created); diff != "" {
			t.Fatalf("template.yaml resources created with only DeployDiskAlarm=true (-want +got):\n%s", diff)
		}
		location, _ := dig(suite, "Resources", "DiskAlarm", "Properties", "Location").(string)
		checkDiskAlarmOnly(t, readSAMTemplate(t, "../../"+location))
		// The outputs that remain are the disk alarms'.
		for name, out := range suite["Outputs"].(map[string]any) {
			cond, _ := dig(out, "Condition").(string)
			if on, err := evalCondition(suite, cond, values); err != nil || (on && !strings.HasPrefix(name, "DiskAlarm")) {
				t.Errorf("template.yaml output %s is given with only DeployDiskAlarm=true (err %v)", name, err)
			}
		}
	})
}

// samOpsViewResources are the resources every per-capability template adds
// for its operational view (observability.go's, in SAM).
var samOpsViewResources = []string{"OpsTopicKey", opsTopicID, "OpsTopicPolicy", "Dashboard"}

// evalCondition evaluates a template's condition (empty: always true) with
// the parameters given, the others at their defaults.
func evalCondition(tmpl map[string]any, name string, values map[string]any) (bool, error) {
	if name == "" {
		return true, nil
	}
	r := newResolver(tmpl)
	for k, v := range values {
		r.params[k] = v
	}
	c, ok := dig(tmpl, "Conditions", name).(map[string]any)
	if !ok {
		return false, fmt.Errorf("no condition %s", name)
	}
	return evalConditionExpr(tmpl, r, c, values)
}

func evalConditionExpr(tmpl map[string]any, r resolver, expr any, values map[string]any) (bool, error) {
	m, _ := expr.(map[string]any)
	if len(m) != 1 {
		return false, fmt.Errorf("condition %s: want one function", canonical(expr))
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return evalCondition(tmpl, fmt.Sprint(arg), values)
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals %s: want two values", canonical(arg))
			}
			return canonical(r.resolve(args[0])) == canonical(r.resolve(args[1])), nil
		case "Fn::Not", "Fn::And", "Fn::Or":
			var results []bool
			for _, a := range args {
				v, err := evalConditionExpr(tmpl, r, a, values)
				if err != nil {
					return false, err
				}
				results = append(results, v)
			}
			switch {
			case fn == "Fn::Not" && len(results) == 1:
				return !results[0], nil
			case fn == "Fn::And":
				return !slices.Contains(results, false), nil
			case fn == "Fn::Or":
				return slices.Contains(results, true), nil
			}
		}
		return false, fmt.Errorf("condition function %s %s: teach evalConditionExpr", fn, canonical(arg))
	}
	return false, nil
}
