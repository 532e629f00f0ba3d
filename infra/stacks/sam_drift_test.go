package stacks

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
)

// samTemplatePath is the repo root's SAM template, seen from this package:
// the whole suite, nesting the per-capability templates.
const samTemplatePath = "../../template.yaml"

// samCapabilityTemplates are the per-capability SAM templates, by the key of
// their CDK stack in suiteTemplates.
var samCapabilityTemplates = map[string]string{
	"RootVolume":     "../../infra/sam/root-volume.yaml",
	"PipelineHealth": "../../infra/sam/health-gate.yaml",
	"AmiApproval":    "../../infra/sam/ami-approval.yaml",
	"DiskAlarm":      "../../infra/sam/disk-alarm.yaml",
}

// functionView is what must agree between template.yaml and the CDK app for
// one function. Each item is one line of text, so a drift reads as a line.
type functionView struct {
	Settings    []string
	Triggers    []string
	Environment []string
	Permissions []string
}

// TestSAMTemplateMatchesCDK keeps each per-capability SAM template in step
// with its CDK stack: same functions (matched by folder: the CodeUri basename
// in SAM, the FunctionMetadataKey in CDK), settings, triggers, environment and
// IAM statements. Both templates are read with their parameters and props at
// their defaults. template.yaml nests these templates
// (TestSAMSuiteNestsEveryCapability), so it is covered through them.
func TestSAMTemplateMatchesCDK(t *testing.T) {
	stacks := suiteTemplates(t)
	if len(stacks) != len(samCapabilityTemplates) {
		t.Errorf("the CDK app has %d stacks and infra/sam %d templates, want one template per stack", len(stacks), len(samCapabilityTemplates))
	}
	inTemplate := map[string]string{}
	for stack, tmpl := range stacks {
		t.Run(stack, func(t *testing.T) {
			file, ok := samCapabilityTemplates[stack]
			if !ok {
				t.Fatalf("CDK stack %s has no SAM template in samCapabilityTemplates", stack)
			}
			sam, errs := samFunctions(readSAMTemplate(t, file))
			for _, err := range errs {
				t.Error(err)
			}
			for name := range sam {
				if other, dup := inTemplate[name]; dup {
					t.Errorf("function %s is in %s and %s", name, other, file)
				}
				inTemplate[name] = file
			}
			cdk := cdkFunctions(tmpl)
			if len(sam) == 0 || len(cdk) == 0 {
				t.Fatalf("found %d functions in %s and %d in the CDK stack, want some in both", len(sam), file, len(cdk))
			}
			for _, drift := range compareFunctions(sam, cdk) {
				t.Error(drift)
			}
		})
	}
}

// TestSAMDriftIsReported makes sure the comparison sees each kind of drift,
// by editing the parsed root-volume SAM template.
func TestSAMDriftIsReported(t *testing.T) {
	cdk := cdkFunctions(suiteTemplates(t)["RootVolume"])
	tests := []struct {
		name string
		edit func(resources map[string]any)
		want string
	}{
		{
			name: "function missing",
			edit: func(r map[string]any) { delete(r, "ReplaceRootVolumeFunction") },
			want: "function replace-root-volume is in the CDK app but not in the SAM template",
		},
		{
			name: "env var renamed",
			edit: func(r map[string]any) {
				env := dig(r, "RootVolumeCleanupFunction", "Properties", "Environment", "Variables").(map[string]any)
				env["DRYRUN"] = env["DRY_RUN"]
				delete(env, "DRY_RUN")
			},
			want: `root-volume-cleanup: environment only in the CDK app: DRY_RUN="false"`,
		},
		{
			name: "pattern changed",
			edit: func(r map[string]any) {
				pattern := dig(r, "SnapshotOnVolumeCreateFunction", "Properties", "Events", "VolumeCreated", "Properties", "Pattern").(map[string]any)
				pattern["detail"] = map[string]any{"event": []any{"attachVolume"}}
			},
			want: `snapshot-on-volume-create: trigger only in the SAM template: pattern {"detail":{"event":["attachVolume"]}`,
		},
		{
			name: "condition dropped",
			edit: func(r map[string]any) {
				policies := dig(r, "RootVolumeCleanupRole", "Properties", "Policies").([]any)
				i := slices.IndexFunc(policies, func(p any) bool { return dig(p, "PolicyName") == "ec2" })
				doc := policies[i].(map[string]any)["PolicyDocument"].(map[string]any)
				sub := doc["Fn::Sub"].([]any)
				sub[0] = strings.Replace(sub[0].(string), `"Condition": {"StringEquals": {"aws:ResourceTag/${DeleteTagKey}": "${DeleteTagValue}"}}`, `"Condition": {}`, 1)
			},
			want: "root-volume-cleanup: permission only in the SAM template: Allow ec2:DeleteVolume on arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := readSAMTemplate(t, samCapabilityTemplates["RootVolume"])
			tt.edit(tmpl["Resources"].(map[string]any))
			sam, errs := samFunctions(tmpl)
			for _, err := range errs {
				t.Fatal(err)
			}
			drifts := compareFunctions(sam, cdk)
			// A want ending in a newline must match a whole drift line.
			if !slices.ContainsFunc(drifts, func(d string) bool { return strings.HasPrefix(d+"\n", tt.want) }) {
				t.Errorf("compareFunctions after %s = %q, want an item starting %q", tt.name, drifts, tt.want)
			}
		})
	}
}

func compareFunctions(sam, cdk map[string]functionView) []string {
	var drifts []string
	for _, name := range sortedKeys(sam, cdk) {
		s, inSAM := sam[name]
		c, inCDK := cdk[name]
		switch {
		case !inSAM:
			drifts = append(drifts, fmt.Sprintf("function %s is in the CDK app but not in the SAM template", name))
			continue
		case !inCDK:
			drifts = append(drifts, fmt.Sprintf("function %s is in the SAM template but not in the CDK app", name))
			continue
		}
		drifts = append(drifts, compareLines(name, "setting", s.Settings, c.Settings)...)
		drifts = append(drifts, compareLines(name, "trigger", s.Triggers, c.Triggers)...)
		drifts = append(drifts, compareLines(name, "environment", s.Environment, c.Environment)...)
		drifts = append(drifts, compareLines(name, "permission", s.Permissions, c.Permissions)...)
	}
	return drifts
}

func compareLines(function, aspect string, sam, cdk []string) []string {
	var drifts []string
	for _, line := range sam {
		if !slices.Contains(cdk, line) {
			drifts = append(drifts, fmt.Sprintf("%s: %s only in the SAM template: %s", function, aspect, line))
		}
	}
	for _, line := range cdk {
		if !slices.Contains(sam, line) {
			drifts = append(drifts, fmt.Sprintf("%s: %s only in the CDK app: %s", function, aspect, line))
		}
	}
	return drifts
}

// samFunctions reads the functions of a SAM template. Each function needs an
// explicit Role, so that its permissions are plain IAM to compare.
func samFunctions(tmpl map[string]any) (map[string]functionView, []error) {
	r := newResolver(tmpl)
	res := r.resolve(tmpl["Resources"]).(map[string]any)
	globals, _ := r.resolve(dig(tmpl, "Globals", "Function")).(map[string]any)

	out := map[string]functionView{}
	var errs []error
	for id, resource := range res {
		if dig(resource, "Type") != "AWS::Serverless::Function" {
			continue
		}
		props := map[string]any{}
		for k, v := range globals {
			props[k] = v
		}
		for k, v := range dig(resource, "Properties").(map[string]any) {
			props[k] = v
		}
		codeURI, _ := props["CodeUri"].(string)
		name := path.Base(strings.TrimSuffix(codeURI, "/"))

		var view functionView
		view.Settings = settings(props["Runtime"], props["Architectures"], props["Handler"], props["MemorySize"], props["Timeout"],
			dig(props, "LoggingConfig", "LogFormat"), props["EventInvokeConfig"])
		view.Environment = environment(dig(props, "Environment", "Variables"))

		events, _ := props["Events"].(map[string]any)
		for eventID, event := range events {
			switch typ := dig(event, "Type"); typ {
			case "EventBridgeRule":
				view.Triggers = append(view.Triggers, "pattern "+canonical(dig(event, "Properties", "Pattern")))
			case "Schedule":
				view.Triggers = append(view.Triggers, fmt.Sprint("schedule ", dig(event, "Properties", "Schedule")))
			case "SQS":
				props := dig(event, "Properties")
				view.Triggers = append(view.Triggers, queueTrigger(dig(props, "Queue"), dig(props, "BatchSize"),
					dig(props, "ScalingConfig", "MaximumConcurrency"), dig(props, "FunctionResponseTypes")))
			default:
				errs = append(errs, fmt.Errorf("SAM template %s: event %s of type %v: teach sam_drift_test.go to compare it", id, eventID, typ))
			}
		}

		roleID := getAttResource(props["Role"])
		role, ok := res[roleID]
		if !ok {
			errs = append(errs, fmt.Errorf("SAM template %s: give it Role: !GetAtt <an AWS::IAM::Role>.Arn, so its permissions can be compared", id))
			continue
		}
		perms, err := rolePermissions(dig(role, "Properties").(map[string]any), nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("SAM template %s: %w", roleID, err))
		}
		view.Permissions = perms
		out[name] = view
	}
	return out, errs
}

// cdkFunctions reads the functions of a synthesized stack that carry
// FunctionMetadataKey.
func cdkFunctions(tmpl map[string]any) map[string]functionView {
	r := newResolver(tmpl)
	res := r.resolve(tmpl["Resources"]).(map[string]any)

	ofType := func(typ string) map[string]map[string]any {
		out := map[string]map[string]any{}
		for id, resource := range res {
			if dig(resource, "Type") == typ {
				out[id] = dig(resource, "Properties").(map[string]any)
			}
		}
		return out
	}

	out := map[string]functionView{}
	for id, resource := range res {
		name, ok := dig(resource, "Metadata", FunctionMetadataKey).(string)
		if !ok || dig(resource, "Type") != "AWS::Lambda::Function" {
			continue
		}
		props := dig(resource, "Properties").(map[string]any)
		self := "${" + id + "}"

		var invokeConfig any
		for _, cfg := range ofType("AWS::Lambda::EventInvokeConfig") {
			if cfg["FunctionName"] == self {
				invokeConfig = cfg
			}
		}

		var view functionView
		view.Settings = settings(props["Runtime"], props["Architectures"], props["Handler"], props["MemorySize"], props["Timeout"],
			dig(props, "LoggingConfig", "LogFormat"), invokeConfig)
		view.Environment = environment(dig(props, "Environment", "Variables"))

		for _, rule := range ofType("AWS::Events::Rule") {
			targets, _ := rule["Targets"].([]any)
			if !slices.ContainsFunc(targets, func(t any) bool { return dig(t, "Arn") == "${"+id+".Arn}" }) {
				continue
			}
			if pattern, ok := rule["EventPattern"]; ok {
				view.Triggers = append(view.Triggers, "pattern "+canonical(pattern))
			}
			if schedule, ok := rule["ScheduleExpression"]; ok {
				view.Triggers = append(view.Triggers, fmt.Sprint("schedule ", schedule))
			}
		}
		for _, m := range ofType("AWS::Lambda::EventSourceMapping") {
			if m["FunctionName"] == self {
				view.Triggers = append(view.Triggers, queueTrigger(m["EventSourceArn"], m["BatchSize"],
					dig(m, "ScalingConfig", "MaximumConcurrency"), m["FunctionResponseTypes"]))
			}
		}

		roleID := getAttResource(props["Role"])
		var policies []any
		for _, policy := range ofType("AWS::IAM::Policy") {
			roles, _ := policy["Roles"].([]any)
			if slices.Contains(roles, any("${"+roleID+"}")) {
				policies = append(policies, policy["PolicyDocument"])
			}
		}
		// CDK's templates hold only JSON objects, so no error can come back.
		view.Permissions, _ = rolePermissions(dig(res[roleID], "Properties").(map[string]any), policies)
		out[name] = view
	}
	return out
}

// settings renders what every function of the suite sets the same way.
func settings(runtime, architectures, handler, memory, timeout, logFormat, invokeConfig any) []string {
	return []string{
		"Runtime " + canonical(runtime),
		"Architectures " + canonical(architectures),
		"Handler " + canonical(handler),
		"MemorySize " + canonical(memory),
		"Timeout " + canonical(timeout),
		"LogFormat " + canonical(logFormat),
		"MaximumRetryAttempts " + canonical(dig(invokeConfig, "MaximumRetryAttempts")),
		"MaximumEventAgeInSeconds " + canonical(dig(invokeConfig, "MaximumEventAgeInSeconds")),
		"OnFailure " + canonical(dig(invokeConfig, "DestinationConfig", "OnFailure", "Destination")),
	}
}

// environment renders variables as NAME=value. A value made from another
// resource (a placeholder such as ${Queue}) compares by name only, since CDK
// and SAM name resources differently.
func environment(vars any) []string {
	m, _ := vars.(map[string]any)
	var out []string
	for name, value := range m {
		s := canonical(value)
		if strings.Contains(s, "${") {
			s = "(a reference)"
		}
		out = append(out, name+"="+s)
	}
	slices.Sort(out)
	return out
}

// rolePermissions renders a role's managed policies and the statements of
// its inline policies and of extra policy documents, one line per action and
// resource.
func rolePermissions(role map[string]any, extra []any) ([]string, error) {
	var out []string
	for _, arn := range asStrings(role["ManagedPolicyArns"]) {
		out = append(out, "managed policy "+arn)
	}
	docs := extra
	policies, _ := role["Policies"].([]any)
	for _, p := range policies {
		docs = append(docs, dig(p, "PolicyDocument"))
	}
	for _, doc := range docs {
		// A policy built with Fn::Sub is a JSON string.
		if s, ok := doc.(string); ok {
			var parsed any
			if err := json.Unmarshal([]byte(s), &parsed); err != nil {
				return out, fmt.Errorf("policy document is not JSON: %w", err)
			}
			doc = parsed
		}
		statements, ok := dig(doc, "Statement").([]any)
		if !ok {
			statements = []any{dig(doc, "Statement")}
		}
		for _, s := range statements {
			condition := ""
			if c, _ := dig(s, "Condition").(map[string]any); len(c) > 0 {
				condition = " if " + canonical(c)
			}
			for _, action := range asStrings(dig(s, "Action")) {
				for _, resource := range asStrings(dig(s, "Resource")) {
					out = append(out, fmt.Sprintf("%v %s on %s%s", dig(s, "Effect"), action, resource, condition))
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// resolver evaluates the intrinsic functions the templates use, with every
// parameter at its default. What it cannot know (pseudo parameters, resource
// references) becomes a placeholder in Fn::Sub syntax: ${AWS::Region},
// ${Queue}, ${Queue.Arn}. CDK writes ARNs with Fn::Join or Fn::Sub, SAM with
// Fn::Sub; both come out as the same string.
type resolver struct {
	params map[string]any
	// tmpl is the template, for Fn::If: its condition is evaluated with
	// every parameter at its default.
	tmpl map[string]any
}

func newResolver(tmpl map[string]any) resolver {
	r := resolver{params: map[string]any{}, tmpl: tmpl}
	params, _ := tmpl["Parameters"].(map[string]any)
	for name, p := range params {
		if d := dig(p, "Default"); d != nil {
			r.params[name] = d
		}
	}
	return r
}

var subVariable = regexp.MustCompile(`\$\{([^}]*)\}`)

func (r resolver) resolve(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, item := range v {
			// Fn::If's AWS::NoValue leaves the item out.
			if item := r.resolve(item); item != "${AWS::NoValue}" {
				out = append(out, item)
			}
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, item := range v {
			out[k] = r.resolve(item)
		}
		if len(out) == 1 {
			for fn, arg := range out {
				if value, ok := r.intrinsic(fn, arg); ok {
					return value
				}
			}
		}
		return out
	}
	return v
}

func (r resolver) intrinsic(fn string, arg any) (any, bool) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		name := fmt.Sprint(arg)
		if d, ok := r.params[name]; ok {
			return d, true
		}
		return "${" + name + "}", true
	case "Fn::If":
		if len(args) == 3 {
			if on, err := evalCondition(r.tmpl, fmt.Sprint(args[0]), r.params); err == nil {
				if on {
					return args[1], true
				}
				return args[2], true
			}
		}
	case "Fn::GetAtt":
		parts := asStrings(arg)
		return "${" + strings.Join(parts, ".") + "}", true
	case "Fn::Join":
		if len(args) == 2 {
			return strings.Join(stringsOf(args[1]), fmt.Sprint(args[0])), true
		}
	case "Fn::Split":
		if len(args) == 2 {
			var out []any
			for _, s := range strings.Split(fmt.Sprint(args[1]), fmt.Sprint(args[0])) {
				out = append(out, s)
			}
			return out, true
		}
	case "Fn::Select":
		if len(args) == 2 {
			i, err := strconv.Atoi(fmt.Sprint(args[0]))
			list, _ := args[1].([]any)
			if err == nil && i >= 0 && i < len(list) {
				return list[i], true
			}
		}
	case "Fn::Sub":
		body, vars := arg, map[string]any{}
		if len(args) == 2 {
			body = args[0]
			vars, _ = args[1].(map[string]any)
		}
		s, ok := body.(string)
		if !ok {
			return nil, false
		}
		return subVariable.ReplaceAllStringFunc(s, func(m string) string {
			name := m[2 : len(m)-1]
			if strings.HasPrefix(name, "!") {
				return "${" + name[1:] + "}" // ${!Literal} escapes.
			}
			if v, ok := vars[name]; ok {
				return fmt.Sprint(v)
			}
			if v, ok := r.params[name]; ok {
				return fmt.Sprint(v)
			}
			return m
		}), true
	}
	return nil, false
}

func stringsOf(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, item := range list {
		out[i] = fmt.Sprint(item)
	}
	return out
}

// getAttResource returns the logical ID in a resolved ${ID.Arn}.
func getAttResource(v any) string {
	s, _ := v.(string)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "${"), "}")
	id, _, _ := strings.Cut(s, ".")
	return id
}

// canonical renders a value as JSON with sorted keys, so equal values from
// YAML (ints) and JSON (floats) read the same.
// queueTrigger describes an SQS event source the same way for both templates.
func queueTrigger(queue, batchSize, maxConcurrency, responseTypes any) string {
	return "queue " + canonical(map[string]any{"queue": queue, "batchSize": batchSize,
		"maximumConcurrency": maxConcurrency, "functionResponseTypes": responseTypes})
}

func canonical(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func sortedKeys(maps ...map[string]functionView) []string {
	var keys []string
	for _, m := range maps {
		for k := range m {
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// readSAMTemplate parses a SAM template (a path seen from this package) into
// the JSON form of a template (shared/testkit/cfn: short-form tags such as
// !Ref X and !GetAtt A.B in their long form).
func readSAMTemplate(t *testing.T, file string) map[string]any {
	t.Helper()
	tmpl, err := cfn.Read(file)
	if err != nil {
		t.Fatal(err)
	}
	return tmpl.Raw
}
