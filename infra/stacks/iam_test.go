package stacks

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// noResourceLevel lists the mutating actions this suite grants on
// "Resource": "*" because the Service Authorization Reference gives them no
// resource type: "*" is the only resource they can be granted on. Anything
// else mutating on "*" fails TestIAMLeastPrivilege. Each entry names what
// the action does here; add one only after checking the reference.
var noResourceLevel = map[string]string{
	// CodePipeline's job-worker actions have an empty "Resource types"
	// column (Service Authorization Reference, "Actions, resources, and
	// condition keys for AWS CodePipeline"): a job ID is all they name.
	"codepipeline:PutJobSuccessResult": "the health gate answers its job",
	"codepipeline:PutJobFailureResult": "the health gate answers its job",
}

// resourceType is a resource type of the Service Authorization Reference,
// matched on an ARN's resource part (after the fifth colon).
type resourceType struct {
	name    string
	pattern *regexp.Regexp
}

var (
	imageBuilderImage         = resourceType{"image", regexp.MustCompile(`^image/.+`)}
	imageBuilderStepExecution = resourceType{"workflowStepExecution", regexp.MustCompile(`^workflow-step-execution/.+`)}
	codePipelinePipeline      = resourceType{"pipeline", regexp.MustCompile(`^[^/]+$`)}
	codePipelineStage         = resourceType{"stage", regexp.MustCompile(`^[^/]+/[^/]+$`)}
)

// actionResourceTypes are, for actions whose resource types are easy to get
// wrong, the types the Service Authorization Reference gives them, each
// required ("*" in its Resource types column): a statement granting the
// action must name a resource of every type and nothing of another type.
// Image Builder: GetWorkflowStepExecution takes workflowStepExecution*
// (arn:${Partition}:imagebuilder:${Region}:${Account}:workflow-step-execution/${WorkflowStepExecutionId}),
// SendWorkflowStepAction image* and workflowStepExecution*. CodePipeline:
// RetryStageExecution takes stage* (arn:${Partition}:codepipeline:${Region}:${Account}:${PipelineName}/${StageName}),
// GetPipeline and GetPipelineState pipeline*.
var actionResourceTypes = map[string][]resourceType{
	"imagebuilder:GetWorkflowStepExecution": {imageBuilderStepExecution},
	"imagebuilder:SendWorkflowStepAction":   {imageBuilderImage, imageBuilderStepExecution},
	"codepipeline:RetryStageExecution":      {codePipelineStage},
	"codepipeline:GetPipeline":              {codePipelinePipeline},
	"codepipeline:GetPipelineState":         {codePipelinePipeline},
}

// readOnlyVerbs start the names of actions that change nothing.
var readOnlyVerbs = []string{"Describe", "Get", "List", "BatchGet", "Query", "Scan"}

// deleteVerbs start the names of actions that remove what they touch.
var deleteVerbs = []string{"Delete", "Deregister", "Terminate"}

// policyStatement is one Allow statement of an identity policy, resolved
// with every parameter at its default, and where it came from.
type policyStatement struct {
	where     string
	actions   []string
	resources []string
	condition map[string]any
}

func (s policyStatement) String() string {
	return fmt.Sprintf("%s: Allow %v on %v if %s", s.where, s.actions, s.resources, canonical(s.condition))
}

// TestIAMLeastPrivilege reads every identity policy of every template the
// suite deploys — the CDK stacks, the organization rollout's stacks and
// StackSet templates, template.yaml and the per-capability SAM templates it
// nests (infra/sam; the nested applications carry no policies themselves) —
// and fails on a statement that
// grants more than the house allows (house-style.md, "Least privilege").
func TestIAMLeastPrivilege(t *testing.T) {
	templates := map[string]map[string]any{"template.yaml": readSAMTemplate(t, samTemplatePath)}
	for _, file := range samCapabilityTemplates {
		templates[strings.TrimPrefix(file, "../../")] = readSAMTemplate(t, file)
	}
	maps.Copy(templates, suiteTemplates(t))
	org := defaultOrgRollout(t)
	templates["OrgStackSets"] = *org.stackSets.ToJSON()
	for region, tmpl := range org.assets {
		templates["OrgAssets-"+region] = *tmpl.ToJSON()
	}
	for capability, tmpl := range org.stackSet {
		templates["OrgStackSet-"+capability] = tmpl
	}

	total, used, seen := 0, map[string]bool{}, map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(templates)) {
		statements, err := identityStatements(name, templates[name])
		if err != nil {
			t.Error(err)
		}
		total += len(statements)
		for _, s := range statements {
			for _, a := range s.actions {
				seen[a] = true
			}
			if slices.Contains(s.resources, "*") {
				for _, a := range s.actions {
					if !hasVerb(strings.SplitN(a, ":", 2)[1], readOnlyVerbs) {
						used[a] = true
					}
				}
			}
			for _, problem := range privilegeProblems(s) {
				t.Errorf("%s: %s", s, problem)
			}
		}
	}
	for action := range noResourceLevel {
		if !used[action] {
			t.Errorf("noResourceLevel lists %s, which no policy grants on \"*\": remove it", action)
		}
	}
	// The rules must have met the grants they are about.
	for _, action := range []string{"ec2:DeleteVolume", "ec2:DeleteSnapshot", "cloudwatch:DeleteAlarms", "ec2:ModifyImageAttribute",
		"imagebuilder:GetWorkflowStepExecution", "imagebuilder:SendWorkflowStepAction", "codepipeline:RetryStageExecution", "codepipeline:GetPipeline"} {
		if !seen[action] {
			t.Errorf("no policy grants %s: the reader lost it", action)
		}
	}
	if total < 20 {
		t.Fatalf("found %d Allow statements in %d templates, want the suite's (at least 20): the reader lost them", total, len(templates))
	}
}

// TestIAMLeastPrivilegeCatchesEachRule makes sure each rule fires.
func TestIAMLeastPrivilegeCatchesEachRule(t *testing.T) {
	tests := []struct {
		name string
		s    policyStatement
		want string // "" for no problem
	}{
		{
			name: "mutating action on star",
			s:    policyStatement{actions: []string{"ec2:CreateSnapshot"}, resources: []string{"*"}},
			want: "ec2:CreateSnapshot on \"*\"",
		},
		{
			name: "read on star",
			s:    policyStatement{actions: []string{"ec2:DescribeVolumes", "ec2:Describe*"}, resources: []string{"*"}},
		},
		{
			name: "action without resource types on star",
			s:    policyStatement{actions: []string{"codepipeline:PutJobSuccessResult"}, resources: []string{"*"}},
		},
		{
			name: "service wildcard",
			s:    policyStatement{actions: []string{"ec2:*"}, resources: []string{"arn:aws:ec2:eu-west-1:111122223333:volume/*"}},
			want: "every action",
		},
		{
			name: "delete wildcard on one bucket's objects",
			s:    policyStatement{actions: []string{"s3:DeleteObject*", "s3:Abort*"}, resources: []string{"${Bucket.Arn}/*"}},
		},
		{
			name: "delete on every volume without a tag condition",
			s:    policyStatement{actions: []string{"ec2:DeleteVolume"}, resources: []string{"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"}},
			want: "ec2:DeleteVolume",
		},
		{
			name: "delete with a tag condition",
			s: policyStatement{actions: []string{"ec2:DeleteVolume"}, resources: []string{"arn:aws:ec2:eu-west-1:111122223333:volume/*"},
				condition: map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/lambda-suite:delete": "true"}}},
		},
		{
			name: "delete scoped by name prefix",
			s:    policyStatement{actions: []string{"cloudwatch:DeleteAlarms"}, resources: []string{"arn:aws:cloudwatch:eu-west-1:111122223333:alarm:ebs-alarms-*"}},
		},
		{
			name: "delete on one named resource",
			s:    policyStatement{actions: []string{"dynamodb:DeleteItem"}, resources: []string{"${ApprovalTable.Arn}"}},
		},
		{
			name: "tag removal limited to one named tag key",
			s: policyStatement{actions: []string{"ec2:CreateTags", "ec2:DeleteTags"}, resources: []string{"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"},
				condition: map[string]any{"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{"delete-volume"}}, "Null": map[string]any{"aws:TagKeys": "false"}}},
		},
		{
			name: "tag removal on every volume without a tag-key condition",
			s:    policyStatement{actions: []string{"ec2:DeleteTags"}, resources: []string{"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"}},
			want: "ec2:DeleteTags",
		},
		{
			name: "tag removal limited by keys but allowed with no keys (removes every tag)",
			s: policyStatement{actions: []string{"ec2:DeleteTags"}, resources: []string{"arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"},
				condition: map[string]any{"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{"delete-volume"}}}},
			want: "ec2:DeleteTags",
		},
		{
			name: "step read on image build versions",
			s:    policyStatement{actions: []string{"imagebuilder:GetWorkflowStepExecution"}, resources: []string{"arn:${AWS::Partition}:imagebuilder:*:${AWS::AccountId}:image/*/*/*"}},
			want: "workflowStepExecution",
		},
		{
			name: "step read on step executions",
			s:    policyStatement{actions: []string{"imagebuilder:GetWorkflowStepExecution"}, resources: []string{"arn:${AWS::Partition}:imagebuilder:*:${AWS::AccountId}:workflow-step-execution/*"}},
		},
		{
			name: "step action without the image build version",
			s:    policyStatement{actions: []string{"imagebuilder:SendWorkflowStepAction"}, resources: []string{"arn:aws:imagebuilder:*:111122223333:workflow-step-execution/*"}},
			want: "no image resource",
		},
		{
			name: "step action on both of its resource types",
			s: policyStatement{actions: []string{"imagebuilder:SendWorkflowStepAction"}, resources: []string{
				"arn:aws:imagebuilder:*:111122223333:image/*/*/*", "arn:aws:imagebuilder:*:111122223333:workflow-step-execution/*"}},
		},
		{
			name: "stage retry on the pipeline",
			s:    policyStatement{actions: []string{"codepipeline:RetryStageExecution"}, resources: []string{"arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:web-app"}},
			want: "no stage resource",
		},
		{
			name: "stage retry on the pipeline's stages",
			s:    policyStatement{actions: []string{"codepipeline:RetryStageExecution"}, resources: []string{"arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:web-app/*"}},
		},
		{
			name: "pipeline read on stages",
			s:    policyStatement{actions: []string{"codepipeline:GetPipeline"}, resources: []string{"arn:aws:codepipeline:eu-west-1:111122223333:web-app/*"}},
			want: "not a resource of type pipeline",
		},
		{
			name: "share without the Image Builder condition",
			s:    policyStatement{actions: []string{"ec2:ModifyImageAttribute"}, resources: []string{"arn:aws:ec2:*::image/*"}},
			want: "Image Builder",
		},
		{
			name: "share with the Image Builder condition",
			s: policyStatement{actions: []string{"ec2:ModifyImageAttribute"}, resources: []string{"arn:aws:ec2:*::image/*"},
				condition: map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/CreatedBy": "EC2 Image Builder"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			problems := privilegeProblems(tt.s)
			switch {
			case tt.want == "" && len(problems) > 0:
				t.Errorf("privilegeProblems(%s) = %q, want none", tt.s, problems)
			case tt.want != "" && !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tt.want) }):
				t.Errorf("privilegeProblems(%s) = %q, want one naming %q", tt.s, problems, tt.want)
			}
		})
	}
}

// privilegeProblems returns what is wrong with one Allow statement.
func privilegeProblems(s policyStatement) []string {
	var problems []string
	star := slices.Contains(s.resources, "*")
	for _, action := range s.actions {
		service, name, _ := strings.Cut(action, ":")
		if action == "*" || name == "*" {
			problems = append(problems, fmt.Sprintf("%s: a wildcard that grants every action", action))
			continue
		}
		mutating := !hasVerb(name, readOnlyVerbs)
		if mutating && star {
			if _, ok := noResourceLevel[action]; !ok {
				problems = append(problems, fmt.Sprintf("%s on \"*\": it supports resource-level permissions (or add it to noResourceLevel after checking the Service Authorization Reference)", action))
			}
		}
		keyScopedUntag := untagAction(name) && tagKeysLimited(s.condition)
		if hasVerb(name, deleteVerbs) && !hasTagCondition(s.condition) && !keyScopedUntag {
			for _, r := range s.resources {
				if !scopedResource(r) {
					problems = append(problems, fmt.Sprintf("%s on %s: a delete needs an aws:ResourceTag condition or a resource scoped by name", action, r))
				}
			}
		}
		problems = append(problems, resourceTypeProblems(action, s.resources)...)
		if service == "ec2" && name == "ModifyImageAttribute" && !imageBuilderCondition(s.condition) {
			problems = append(problems, fmt.Sprintf("%s without the Image Builder condition (aws:ResourceTag/%s = %s)", action, imageBuilderTagKey, imageBuilderTagValue))
		}
	}
	return problems
}

// resourceTypeProblems checks an action of actionResourceTypes against the
// resources it is granted on ("*" stands for any type).
func resourceTypeProblems(action string, resources []string) []string {
	types, ok := actionResourceTypes[action]
	if !ok {
		return nil
	}
	var problems []string
	found := map[string]bool{}
	for _, r := range resources {
		if r == "*" {
			for _, typ := range types {
				found[typ.name] = true
			}
			continue
		}
		part := arnResourcePart(r)
		matched := false
		for _, typ := range types {
			if typ.pattern.MatchString(part) {
				found[typ.name], matched = true, true
			}
		}
		if !matched {
			var names []string
			for _, typ := range types {
				names = append(names, typ.name)
			}
			problems = append(problems, fmt.Sprintf("%s on %s: not a resource of type %s (Service Authorization Reference)", action, r, strings.Join(names, " or ")))
		}
	}
	for _, typ := range types {
		if !found[typ.name] {
			problems = append(problems, fmt.Sprintf("%s: no %s resource, which it requires (Service Authorization Reference)", action, typ.name))
		}
	}
	return problems
}

// arnResourcePart returns what follows an ARN's fifth colon (volume/vol-1,
// alarm:name), with ${...} placeholders, which may hold colons, as "x".
func arnResourcePart(resource string) string {
	parts := strings.SplitN(subVariable.ReplaceAllString(resource, "x"), ":", 6)
	if len(parts) < 6 {
		return resource
	}
	return parts[5]
}

func hasVerb(name string, verbs []string) bool {
	return slices.ContainsFunc(verbs, func(v string) bool { return strings.HasPrefix(name, v) })
}

// conditionKeys returns the keys under every operator of a condition.
func conditionKeys(condition map[string]any) map[string]any {
	out := map[string]any{}
	for _, byKey := range condition {
		if m, ok := byKey.(map[string]any); ok {
			maps.Copy(out, m)
		}
	}
	return out
}

func hasTagCondition(condition map[string]any) bool {
	for key := range conditionKeys(condition) {
		if strings.HasPrefix(strings.ToLower(key), "aws:resourcetag/") {
			return true
		}
	}
	return false
}

// untagAction says whether an action removes tags (ec2:DeleteTags,
// UntagResource) rather than a resource.
func untagAction(name string) bool {
	return name == "DeleteTags" || name == "UntagResource"
}

// tagKeysLimited says whether a condition lets a tag removal name only the
// listed tag keys: ForAllValues:StringEquals aws:TagKeys with literal keys,
// and Null aws:TagKeys false, since without keys the ForAllValues test holds
// vacuously and ec2:DeleteTags without keys removes every tag. Removing
// one named tag key deletes no resource.
func tagKeysLimited(condition map[string]any) bool {
	eq, _ := condition["ForAllValues:StringEquals"].(map[string]any)
	keys := asStrings(eq["aws:TagKeys"])
	null, _ := condition["Null"].(map[string]any)
	return len(keys) > 0 && !slices.ContainsFunc(keys, func(k string) bool { return strings.ContainsAny(k, "*?") }) &&
		fmt.Sprint(null["aws:TagKeys"]) == "false"
}

func imageBuilderCondition(condition map[string]any) bool {
	eq, _ := condition["StringEquals"].(map[string]any)
	return slices.Contains(asStrings(eq["aws:ResourceTag/"+imageBuilderTagKey]), imageBuilderTagValue) &&
		len(asStrings(eq["aws:ResourceTag/"+imageBuilderTagKey])) == 1
}

// scopedResource says whether a resource names something narrower than
// every resource of its type: a reference to one resource (${Queue.Arn}),
// or an ARN whose resource name is not just "*" (alarm:ebs-alarms-*).
func scopedResource(resource string) bool {
	if resource == "*" {
		return false
	}
	if !strings.HasPrefix(resource, "arn:") {
		return true
	}
	// ${AWS::Partition} and the like hold colons of their own.
	resource = subVariable.ReplaceAllString(resource, "x")
	parts := strings.SplitN(resource, ":", 6)
	if len(parts) < 6 {
		return false
	}
	res := parts[5] // volume/vol-1, alarm:name, table/T
	if i := strings.IndexAny(res, "/:"); i >= 0 {
		res = res[i+1:]
	}
	return res != "*" && res != ""
}

// identityStatements returns the Allow statements of a template's identity
// policies: the inline policies of AWS::IAM::Role, AWS::IAM::Policy and
// AWS::IAM::ManagedPolicy, and a SAM function's Policies. Fn::If gives both
// branches. Resource policies (queues, topics, buckets) are not identity
// policies and are left to cdk-nag.
func identityStatements(name string, tmpl map[string]any) ([]policyStatement, error) {
	r := newResolver(tmpl)
	resources, _ := tmpl["Resources"].(map[string]any)
	var out []policyStatement
	var errs []string
	for _, id := range slices.Sorted(maps.Keys(resources)) {
		res := resources[id]
		props := dig(res, "Properties")
		var docs []any
		switch dig(res, "Type") {
		case "AWS::IAM::Role":
			policies, _ := dig(props, "Policies").([]any)
			for _, p := range policies {
				docs = append(docs, dig(p, "PolicyDocument"))
			}
		case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
			docs = append(docs, dig(props, "PolicyDocument"))
		case "AWS::Serverless::Function":
			policies := dig(props, "Policies")
			if policies == nil {
				break
			}
			list, ok := policies.([]any)
			if !ok {
				list = []any{policies}
			}
			for _, p := range list {
				if dig(p, "Statement") == nil {
					errs = append(errs, fmt.Sprintf("%s %s: a SAM policy template or managed policy (%s): teach iam_test.go to read it", name, id, canonical(p)))
					continue
				}
				docs = append(docs, p)
			}
		case "AWS::CloudFormation::StackSet":
			// The org rollout's StackSet templates are read on their own.
			continue
		default:
			continue
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s %s policy %d", name, id, i)
			statements, err := allowStatements(r.resolve(doc))
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", where, err))
			}
			for _, s := range statements {
				s.where = where
				out = append(out, s)
			}
		}
	}
	if len(errs) > 0 {
		return out, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return out, nil
}

// allowStatements reads the Allow statements of one resolved policy
// document, which Fn::Sub may have left as a JSON string.
func allowStatements(doc any) ([]policyStatement, error) {
	if s, ok := doc.(string); ok {
		var parsed any
		if err := json.Unmarshal([]byte(s), &parsed); err != nil {
			return nil, fmt.Errorf("policy document is not JSON: %w", err)
		}
		doc = parsed
	}
	var out []policyStatement
	for _, st := range branches(dig(doc, "Statement")) {
		if dig(st, "Effect") != "Allow" {
			continue
		}
		if dig(st, "NotAction") != nil || dig(st, "NotResource") != nil {
			return out, fmt.Errorf("statement %s uses NotAction or NotResource, which grants by exclusion", canonical(st))
		}
		s := policyStatement{}
		for _, a := range branches(dig(st, "Action")) {
			s.actions = append(s.actions, asStrings(a)...)
		}
		for _, r := range branches(dig(st, "Resource")) {
			s.resources = append(s.resources, asStrings(r)...)
		}
		s.condition, _ = dig(st, "Condition").(map[string]any)
		if len(s.actions) == 0 || len(s.resources) == 0 {
			return out, fmt.Errorf("statement %s: no action or resource read", canonical(st))
		}
		out = append(out, s)
	}
	return out, nil
}

// branches flattens a list and expands Fn::If into both of its values,
// leaving out AWS::NoValue.
func branches(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		var out []any
		for _, item := range v {
			out = append(out, branches(item)...)
		}
		return out
	case map[string]any:
		if args, ok := v["Fn::If"].([]any); ok && len(v) == 1 && len(args) == 3 {
			return append(branches(args[1]), branches(args[2])...)
		}
		if v["Ref"] == "AWS::NoValue" || v["Ref"] == "${AWS::NoValue}" {
			return nil
		}
	case string:
		if v == "${AWS::NoValue}" {
			return nil
		}
	}
	return []any{v}
}
