package stacks

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// TestEachStackIsObserved: every CDK stack and every per-capability SAM
// template (infra/sam) alarm on each function's Errors and on each
// on-failure queue's depth, notify the operational topic (created unless
// OpsTopicArn names one), and have a dashboard whose URL is an output.
func TestEachStackIsObserved(t *testing.T) {
	for name, tmpl := range suiteTemplates(t) {
		t.Run(name, func(t *testing.T) {
			for _, problem := range observabilityProblems(tmpl, DashboardURLOutput) {
				t.Error(problem)
			}
		})
	}
	for _, file := range samCapabilityTemplates {
		t.Run(file, func(t *testing.T) {
			for _, problem := range observabilityProblems(readSAMTemplate(t, file), samDashboardOutput(t, file)) {
				t.Error(problem)
			}
		})
	}
}

// samDashboardOutput is the dashboard URL output of a capability template:
// <Capability>DashboardUrl, unique among the outputs template.yaml
// re-exports.
func samDashboardOutput(t *testing.T, file string) string {
	t.Helper()
	for _, app := range samApps {
		if samCapabilityTemplates[app.stack] == file {
			return app.id + DashboardURLOutput
		}
	}
	t.Fatalf("%s is nested by no app in samApps", file)
	return ""
}

// TestSAMSuitePassesTheOpsTopic: template.yaml declares OpsTopicArn
// defaulting to empty, gives it to every capability, and re-exports each
// capability's dashboard URL (and its ops topic, when it made one).
func TestSAMSuitePassesTheOpsTopic(t *testing.T) {
	suite := readSAMTemplate(t, samTemplatePath)
	if dig(suite, "Parameters", OpsTopicParameter, "Default") != "" {
		t.Errorf("template.yaml: no %s parameter defaulting to empty", OpsTopicParameter)
	}
	for _, app := range samApps {
		if got := canonical(dig(suite, "Resources", app.id, "Properties", "Parameters", OpsTopicParameter)); got != canonical(map[string]any{"Ref": OpsTopicParameter}) {
			t.Errorf("template.yaml %s passes %s as %s, want a Ref to it", app.id, OpsTopicParameter, got)
		}
		out := app.id + DashboardURLOutput
		if got, want := canonical(dig(suite, "Outputs", out, "Value")), canonical(map[string]any{"Fn::GetAtt": []any{app.id, "Outputs." + out}}); got != want {
			t.Errorf("template.yaml output %s = %s, want %s", out, got, want)
		}
		topic := app.id + "OpsTopicArn"
		cond, _ := dig(suite, "Outputs", topic, "Condition").(string)
		if !conditionNeeds(suite, cond, app.deploy+"Condition") ||
			canonical(dig(suite, "Conditions", cond, "Fn::And")) != canonical([]any{
				map[string]any{"Condition": app.deploy + "Condition"},
				map[string]any{"Fn::Equals": []any{map[string]any{"Ref": OpsTopicParameter}, ""}},
			}) {
			t.Errorf("template.yaml output %s: condition %q, want %sCondition and an empty %s", topic, cond, app.deploy, OpsTopicParameter)
		}
	}
}

// TestObservabilityProblemsAreReported: the check sees a missing alarm.
func TestObservabilityProblemsAreReported(t *testing.T) {
	tmpl := readSAMTemplate(t, samCapabilityTemplates["RootVolume"])
	res := tmpl["Resources"].(map[string]any)
	for id, r := range res {
		if dig(r, "Type") == "AWS::CloudWatch::Alarm" && dig(r, "Properties", "MetricName") == "Errors" &&
			strings.HasPrefix(id, "RootVolumeCleanup") {
			delete(res, id)
		}
	}
	problems := observabilityProblems(tmpl, "RootVolume"+DashboardURLOutput)
	if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, "RootVolumeCleanupFunction has no Errors alarm") }) {
		t.Errorf("problems = %q, want the cleanup's missing Errors alarm", problems)
	}
}

func observabilityProblems(tmpl map[string]any, dashboardOutput string) []string {
	res, _ := tmpl["Resources"].(map[string]any)
	var problems []string
	var functions, queues []string
	errorAlarms, depthAlarms := map[string]bool{}, map[string]bool{}
	dashboards := 0
	for id, r := range res {
		switch dig(r, "Type") {
		case "AWS::Lambda::Function", "AWS::Serverless::Function":
			functions = append(functions, id)
		case "AWS::SQS::Queue":
			if strings.HasSuffix(id, "OnFailureQueue") {
				queues = append(queues, id)
			}
		case "AWS::CloudWatch::Dashboard":
			dashboards++
		case "AWS::CloudWatch::Alarm":
			props, _ := dig(r, "Properties").(map[string]any)
			if actions, _ := props["AlarmActions"].([]any); len(actions) != 1 {
				problems = append(problems, fmt.Sprintf("alarm %s notifies %v, want the operational topic", id, props["AlarmActions"]))
			}
			dims, _ := props["Dimensions"].([]any)
			for _, d := range dims {
				switch {
				case props["MetricName"] == "Errors" && dig(d, "Name") == "FunctionName":
					if ref, ok := dig(d, "Value", "Ref").(string); ok {
						errorAlarms[ref] = true
					}
				case props["MetricName"] == "ApproximateNumberOfMessagesVisible" && dig(d, "Name") == "QueueName":
					if ga, ok := dig(d, "Value", "Fn::GetAtt").([]any); ok && len(ga) == 2 {
						depthAlarms[ga[0].(string)] = true
					}
				}
			}
		}
	}
	for _, fn := range functions {
		if !errorAlarms[fn] {
			problems = append(problems, fmt.Sprintf("function %s has no Errors alarm", fn))
		}
	}
	for _, q := range queues {
		if !depthAlarms[q] {
			problems = append(problems, fmt.Sprintf("on-failure queue %s has no depth alarm", q))
		}
	}
	if len(queues) == 0 || len(functions) == 0 {
		problems = append(problems, fmt.Sprintf("%d functions and %d on-failure queues, want some", len(functions), len(queues)))
	}
	if dashboards != 1 {
		problems = append(problems, fmt.Sprintf("%d dashboards, want 1", dashboards))
	}
	if dig(tmpl, "Parameters", OpsTopicParameter, "Default") != "" {
		problems = append(problems, "no "+OpsTopicParameter+" parameter defaulting to empty")
	}
	if dig(res, opsTopicID, "Condition") != opsTopicCondition {
		problems = append(problems, "no "+opsTopicID+" created under "+opsTopicCondition)
	}
	if dig(tmpl, "Outputs", dashboardOutput, "Value") == nil {
		problems = append(problems, "no "+dashboardOutput+" output")
	}
	return problems
}

// TestDashboardURLIsThePartitionsConsole: every stack's and every SAM
// template's dashboard URL opens the console of the partition it is
// deployed in (awsid.ConsoleHost), not the commercial one everywhere.
func TestDashboardURLIsThePartitionsConsole(t *testing.T) {
	check := func(t *testing.T, tmpl map[string]any, output string) {
		for partition, region := range map[string]string{"aws": "eu-west-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"} {
			r := newResolver(tmpl)
			r.params["AWS::Partition"], r.params["AWS::Region"] = partition, region
			got := fmt.Sprint(r.resolve(dig(tmpl, "Outputs", output, "Value")))
			if want := "https://" + awsid.ConsoleHost(region) + "/cloudwatch/home?region=" + region + "#dashboards:name="; !strings.HasPrefix(got, want) {
				t.Errorf("%s in %s = %q, want it to start %q", output, partition, got, want)
			}
		}
	}
	for name, tmpl := range suiteTemplates(t) {
		t.Run(name, func(t *testing.T) { check(t, tmpl, DashboardURLOutput) })
	}
	for _, file := range samCapabilityTemplates {
		t.Run(file, func(t *testing.T) { check(t, readSAMTemplate(t, file), samDashboardOutput(t, file)) })
	}
}
