// Package cfn reads the suite's CloudFormation and SAM templates and
// resolves their intrinsic functions for a given account, Region and set of
// parameters, the way CloudFormation would when it creates the stack. The
// IAM layer (shared/testkit/iam) uses it to evaluate the policies exactly as
// the templates write them; the infra tests use Parse to read them.
//
// What it resolves: Ref (parameters, pseudo-parameters, resources),
// Fn::GetAtt, Fn::Sub (both forms, ${!Literal} escapes), Fn::Join,
// Fn::Select, Fn::Split, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or,
// Condition and AWS::NoValue. Anything else is an error that names it: a
// template the layer cannot read is never half-evaluated.
package cfn

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Template is a parsed template in CloudFormation's JSON form.
type Template struct {
	Raw map[string]any
}

// Read parses the template at path.
func Read(path string) (*Template, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- test tooling reads the repository's templates
	if err != nil {
		return nil, err
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse reads a YAML or JSON template, turning short-form tags (!Ref X,
// !GetAtt A.B, !Sub ...) into their long form ({"Ref": "X"},
// {"Fn::GetAtt": ["A", "B"]}, {"Fn::Sub": ...}).
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	v, err := FromYAML(&doc)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the template is not a mapping")
	}
	return &Template{Raw: m}, nil
}

// FromYAML turns a YAML node into the JSON form of a template.
func FromYAML(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.DocumentNode:
		return FromYAML(n.Content[0])
	case yaml.AliasNode:
		return FromYAML(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			item, err := FromYAML(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = item
		}
		v = m
	case yaml.SequenceNode:
		list := []any{}
		for _, c := range n.Content {
			item, err := FromYAML(c)
			if err != nil {
				return nil, err
			}
			list = append(list, item)
		}
		v = list
	case yaml.ScalarNode:
		if isShortForm(n.Tag) {
			v = n.Value
		} else if err := n.Decode(&v); err != nil {
			return nil, fmt.Errorf("line %d: %w", n.Line, err)
		}
	}
	if !isShortForm(n.Tag) {
		return v, nil
	}
	switch fn := strings.TrimPrefix(n.Tag, "!"); fn {
	case "Ref", "Condition":
		return map[string]any{fn: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			resource, attribute, _ := strings.Cut(s, ".")
			v = []any{resource, attribute}
		}
		return map[string]any{"Fn::GetAtt": v}, nil
	default:
		return map[string]any{"Fn::" + fn: v}, nil
	}
}

// isShortForm tells CloudFormation's tags (!Ref) from YAML's own (!!str).
func isShortForm(tag string) bool {
	return strings.HasPrefix(tag, "!") && !strings.HasPrefix(tag, "!!")
}

// Section returns a top-level section ("Resources", "Parameters", ...).
func (t *Template) Section(name string) map[string]any {
	m, _ := t.Raw[name].(map[string]any)
	return m
}

// Env is what CloudFormation knows when it creates the stack.
type Env struct {
	Account, Region, Partition, StackName string
	// Parameters override the template's defaults.
	Parameters map[string]string
	// Names are the physical names (or IDs) of resources, by logical ID: a
	// table's name, a topic's or queue's name, a key's ID. A resource not
	// named here takes the name its properties give (TableName,
	// TopicName, ...) or, failing that, its logical ID.
	Names map[string]string
}

// Stack is a template resolved for one Env.
type Stack struct {
	t     *Template
	env   Env
	conds map[string]bool
}

// Resolve evaluates the template's conditions for env.
func (t *Template) Resolve(env Env) (*Stack, error) {
	if env.Partition == "" {
		env.Partition = "aws"
	}
	if env.StackName == "" {
		env.StackName = "lambda-suite"
	}
	s := &Stack{t: t, env: env, conds: map[string]bool{}}
	for name := range env.Parameters {
		if _, ok := t.Section("Parameters")[name]; !ok {
			return nil, fmt.Errorf("parameter %s is not in the template", name)
		}
	}
	for name := range t.Section("Conditions") {
		if _, err := s.Condition(name); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Env returns the stack's environment.
func (s *Stack) Env() Env { return s.env }

// Condition returns the value of a named condition.
func (s *Stack) Condition(name string) (bool, error) {
	if v, ok := s.conds[name]; ok {
		return v, nil
	}
	expr, ok := s.t.Section("Conditions")[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not in the template", name)
	}
	v, err := s.Value(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %s is not a boolean: %v", name, v)
	}
	s.conds[name] = b
	return b, nil
}

// Resource is one resource of the stack.
type Resource struct {
	ID, Type   string
	Properties map[string]any // unresolved
}

// Resources returns the resources that exist (their condition holds), by
// logical ID, optionally only those of the given types.
func (s *Stack) Resources(types ...string) ([]Resource, error) {
	var out []Resource
	for id, raw := range s.t.Section("Resources") {
		r, _ := raw.(map[string]any)
		typ, _ := r["Type"].(string)
		if len(types) > 0 && !slices.Contains(types, typ) {
			continue
		}
		if c, ok := r["Condition"].(string); ok {
			holds, err := s.Condition(c)
			if err != nil {
				return nil, err
			}
			if !holds {
				continue
			}
		}
		props, _ := r["Properties"].(map[string]any)
		out = append(out, Resource{ID: id, Type: typ, Properties: props})
	}
	slices.SortFunc(out, func(a, b Resource) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// noValue is AWS::NoValue: the property or list item is left out.
type noValue struct{}

// Value resolves every intrinsic function in v.
func (s *Stack) Value(v any) (any, error) {
	out, err := s.value(v)
	if _, gone := out.(noValue); gone {
		return nil, err
	}
	return out, err
}

// String resolves v and requires a string.
func (s *Stack) String(v any) (string, error) {
	r, err := s.Value(v)
	if err != nil {
		return "", err
	}
	str, ok := r.(string)
	if !ok {
		return "", fmt.Errorf("%v is not a string", r)
	}
	return str, nil
}

// Strings resolves v and requires a string or a list of strings.
func (s *Stack) Strings(v any) ([]string, error) {
	r, err := s.Value(v)
	if err != nil {
		return nil, err
	}
	switch r := r.(type) {
	case string:
		return []string{r}, nil
	case []any:
		out := make([]string, 0, len(r))
		for _, item := range r {
			str, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("%v is not a string", item)
			}
			out = append(out, str)
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("%v is not a list of strings", r)
}

func (s *Stack) value(v any) (any, error) {
	switch v := v.(type) {
	case []any:
		out := make([]any, 0, len(v))
		for _, item := range v {
			r, err := s.value(item)
			if err != nil {
				return nil, err
			}
			if _, gone := r.(noValue); !gone {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if len(v) == 1 {
			for fn, arg := range v {
				if fn == "Ref" || fn == "Condition" || strings.HasPrefix(fn, "Fn::") {
					return s.intrinsic(fn, arg)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, item := range v {
			r, err := s.value(item)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, gone := r.(noValue); !gone {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

func (s *Stack) intrinsic(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("a Ref of %v", arg)
		}
		return s.ref(name)
	case "Condition":
		name, ok := arg.(string)
		if !ok {
			return nil, fmt.Errorf("Condition of %v", arg)
		}
		return s.Condition(name)
	case "Fn::GetAtt":
		parts, err := s.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		id, _ := parts[0].(string)
		attr, _ := parts[1].(string)
		return s.getAtt(id, attr)
	case "Fn::Sub":
		return s.sub(arg)
	case "Fn::Join":
		parts, err := s.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		sep, _ := parts[0].(string)
		list, err := s.Strings(parts[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Join: %w", err)
		}
		return strings.Join(list, sep), nil
	case "Fn::Select":
		parts, err := s.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		idx, err := s.value(parts[0])
		if err != nil {
			return nil, err
		}
		i, err := index(idx)
		if err != nil {
			return nil, fmt.Errorf("Fn::Select: %w", err)
		}
		list, err := s.value(parts[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok || i < 0 || i >= len(items) {
			return nil, fmt.Errorf("Fn::Select: index %d of %v", i, list)
		}
		return items[i], nil
	case "Fn::Split":
		parts, err := s.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		sep, _ := parts[0].(string)
		str, err := s.String(parts[1])
		if err != nil {
			return nil, fmt.Errorf("Fn::Split: %w", err)
		}
		var out []any
		for _, p := range strings.Split(str, sep) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::If":
		parts, err := s.args(fn, arg, 3)
		if err != nil {
			return nil, err
		}
		name, _ := parts[0].(string)
		holds, err := s.Condition(name)
		if err != nil {
			return nil, err
		}
		if holds {
			return s.value(parts[1])
		}
		return s.value(parts[2])
	case "Fn::Equals":
		parts, err := s.args(fn, arg, 2)
		if err != nil {
			return nil, err
		}
		a, err := s.value(parts[0])
		if err != nil {
			return nil, err
		}
		b, err := s.value(parts[1])
		if err != nil {
			return nil, err
		}
		return fmt.Sprint(a) == fmt.Sprint(b), nil
	case "Fn::Not", "Fn::And", "Fn::Or":
		list, ok := arg.([]any)
		if !ok || len(list) == 0 || (fn == "Fn::Not" && len(list) != 1) {
			return nil, fmt.Errorf("%s of %v", fn, arg)
		}
		var vals []bool
		for _, item := range list {
			r, err := s.value(item)
			if err != nil {
				return nil, err
			}
			b, ok := r.(bool)
			if !ok {
				return nil, fmt.Errorf("%s of a non-boolean %v", fn, r)
			}
			vals = append(vals, b)
		}
		switch fn {
		case "Fn::Not":
			return !vals[0], nil
		case "Fn::And":
			return !slices.Contains(vals, false), nil
		default:
			return slices.Contains(vals, true), nil
		}
	}
	return nil, fmt.Errorf("intrinsic function %s is not supported by shared/testkit/cfn", fn)
}

func index(v any) (int, error) {
	switch v := v.(type) {
	case int:
		return v, nil
	case float64:
		return int(v), nil
	case string:
		return strconv.Atoi(v)
	}
	return 0, fmt.Errorf("index %v", v)
}

func (s *Stack) args(fn string, arg any, n int) ([]any, error) {
	list, ok := arg.([]any)
	if !ok || len(list) != n {
		return nil, fmt.Errorf("%s takes %d arguments: %v", fn, n, arg)
	}
	return list, nil
}

func (s *Stack) sub(arg any) (any, error) {
	var tmpl string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		tmpl = a
	case []any:
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Sub takes a string or [string, map]")
		}
		tmpl, _ = a[0].(string)
		m, _ := a[1].(map[string]any)
		for k, v := range m {
			r, err := s.value(v)
			if err != nil {
				return nil, fmt.Errorf("Fn::Sub variable %s: %w", k, err)
			}
			vars[k] = r
		}
	default:
		return nil, fmt.Errorf("Fn::Sub of %v", arg)
	}
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String(), nil
		}
		b.WriteString(tmpl[:i])
		end := strings.IndexByte(tmpl[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("Fn::Sub: unclosed ${ in %q", tmpl)
		}
		name := tmpl[i+2 : i+end]
		tmpl = tmpl[i+end+1:]
		if strings.HasPrefix(name, "!") {
			b.WriteString("${" + name[1:] + "}")
			continue
		}
		var val any
		var err error
		if v, ok := vars[name]; ok {
			val = v
		} else if id, attr, ok := strings.Cut(name, "."); ok {
			val, err = s.getAtt(id, attr)
		} else {
			val, err = s.ref(name)
		}
		if err != nil {
			return nil, fmt.Errorf("Fn::Sub ${%s}: %w", name, err)
		}
		str, ok := val.(string)
		if !ok {
			return nil, fmt.Errorf("Fn::Sub ${%s} is not a string: %v", name, val)
		}
		b.WriteString(str)
	}
}

func (s *Stack) ref(name string) (any, error) {
	switch name {
	case "AWS::AccountId":
		return s.env.Account, nil
	case "AWS::Region":
		return s.env.Region, nil
	case "AWS::Partition":
		return s.env.Partition, nil
	case "AWS::StackName":
		return s.env.StackName, nil
	case "AWS::StackId":
		return fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/%s/00000000-0000-0000-0000-000000000000", s.env.Partition, s.env.Region, s.env.Account, s.env.StackName), nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if p, ok := s.t.Section("Parameters")[name].(map[string]any); ok {
		val, given := s.env.Parameters[name]
		if !given {
			val = fmt.Sprint(p["Default"])
			if p["Default"] == nil {
				return nil, fmt.Errorf("parameter %s has no default and no value", name)
			}
		}
		if typ, _ := p["Type"].(string); typ == "CommaDelimitedList" || strings.HasPrefix(typ, "List<") {
			var out []any
			if val != "" {
				for _, item := range strings.Split(val, ",") {
					out = append(out, strings.TrimSpace(item))
				}
			} else {
				out = []any{""}
			}
			return out, nil
		}
		return val, nil
	}
	r, ok := s.t.Section("Resources")[name].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("reference to %s: no such parameter or resource", name)
	}
	typ, _ := r["Type"].(string)
	return s.physical(name, typ, "Ref")
}

func (s *Stack) getAtt(id, attr string) (any, error) {
	r, ok := s.t.Section("Resources")[id].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such resource", id, attr)
	}
	typ, _ := r["Type"].(string)
	return s.physical(id, typ, attr)
}

// nameProperty is the property that names a resource of each type.
var nameProperty = map[string]string{
	"AWS::DynamoDB::Table":          "TableName",
	"AWS::SNS::Topic":               "TopicName",
	"AWS::SQS::Queue":               "QueueName",
	"AWS::IAM::Role":                "RoleName",
	"AWS::Events::EventBus":         "Name",
	"AWS::Scheduler::ScheduleGroup": "Name",
	"AWS::Serverless::Function":     "FunctionName",
	"AWS::Lambda::Function":         "FunctionName",
	"AWS::Logs::LogGroup":           "LogGroupName",
	"AWS::S3::Bucket":               "BucketName",
	"AWS::CloudWatch::Alarm":        "AlarmName",
	"AWS::CodePipeline::Pipeline":   "Name",
	"AWS::ImageBuilder::Workflow":   "Name",
}

// Name returns a resource's physical name (see Env.Names).
func (s *Stack) Name(id string) (string, error) {
	if n, ok := s.env.Names[id]; ok {
		return n, nil
	}
	r, _ := s.t.Section("Resources")[id].(map[string]any)
	typ, _ := r["Type"].(string)
	if prop, ok := nameProperty[typ]; ok {
		props, _ := r["Properties"].(map[string]any)
		if v, ok := props[prop]; ok {
			return s.String(v)
		}
	}
	return id, nil
}

// physical answers Ref (attr "Ref") and Fn::GetAtt for a resource, as
// each resource type's CloudFormation reference documents them.
func (s *Stack) physical(id, typ, attr string) (any, error) {
	name, err := s.Name(id)
	if err != nil {
		return nil, fmt.Errorf("name of %s: %w", id, err)
	}
	p, region, acct := s.env.Partition, s.env.Region, s.env.Account
	arn := func(service, region, acct, resource string) string {
		return fmt.Sprintf("arn:%s:%s:%s:%s:%s", p, service, region, acct, resource)
	}
	type refs map[string]string
	var r refs
	switch typ {
	case "AWS::DynamoDB::Table":
		r = refs{"Ref": name, "Arn": arn("dynamodb", region, acct, "table/"+name)}
	case "AWS::SNS::Topic":
		a := arn("sns", region, acct, name)
		r = refs{"Ref": a, "TopicArn": a, "TopicName": name}
	case "AWS::SNS::Subscription":
		r = refs{"Ref": arn("sns", region, acct, name), "Arn": arn("sns", region, acct, name)}
	case "AWS::SQS::Queue":
		url := fmt.Sprintf("https://sqs.%s.amazonaws.com/%s/%s", region, acct, name)
		r = refs{"Ref": url, "QueueUrl": url, "QueueName": name, "Arn": arn("sqs", region, acct, name)}
	case "AWS::KMS::Key":
		r = refs{"Ref": name, "KeyId": name, "Arn": arn("kms", region, acct, "key/"+name)}
	case "AWS::IAM::Role":
		r = refs{"Ref": name, "RoleId": "AROA" + strings.ToUpper(name), "Arn": arn("iam", "", acct, "role/"+name)}
	case "AWS::IAM::InstanceProfile":
		r = refs{"Ref": name, "Arn": arn("iam", "", acct, "instance-profile/"+name)}
	case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy":
		r = refs{"Ref": name}
	case "AWS::Events::EventBus":
		r = refs{"Ref": name, "Name": name, "Arn": arn("events", region, acct, "event-bus/"+name)}
	case "AWS::Events::Rule":
		r = refs{"Ref": name, "Arn": arn("events", region, acct, "rule/"+name)}
	case "AWS::Scheduler::ScheduleGroup":
		r = refs{"Ref": name, "Arn": arn("scheduler", region, acct, "schedule-group/"+name)}
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		r = refs{"Ref": name, "Arn": arn("lambda", region, acct, "function:"+name)}
	case "AWS::Logs::LogGroup":
		r = refs{"Ref": name, "Arn": arn("logs", region, acct, "log-group:"+name+":*")}
	case "AWS::S3::Bucket":
		r = refs{"Ref": name, "Arn": arn("s3", "", "", name)}
	case "AWS::CloudWatch::Alarm":
		r = refs{"Ref": name, "Arn": arn("cloudwatch", region, acct, "alarm:"+name)}
	case "AWS::CodePipeline::Pipeline":
		r = refs{"Ref": name}
	case "AWS::ApiGatewayV2::Api":
		r = refs{"Ref": name, "ApiId": name, "ApiEndpoint": fmt.Sprintf("https://%s.execute-api.%s.amazonaws.com", name, region)}
	case "AWS::ImageBuilder::Workflow":
		a := arn("imagebuilder", region, acct, "workflow/test/"+strings.ToLower(name)+"/1.0.0/1")
		r = refs{"Ref": a, "Arn": a, "Name": name}
	case "AWS::ImageBuilder::ImagePipeline", "AWS::ImageBuilder::ImageRecipe", "AWS::ImageBuilder::InfrastructureConfiguration", "AWS::ImageBuilder::DistributionConfiguration":
		kind := map[string]string{
			"AWS::ImageBuilder::ImagePipeline": "image-pipeline", "AWS::ImageBuilder::ImageRecipe": "image-recipe/" + strings.ToLower(name) + "/1.0.0",
			"AWS::ImageBuilder::InfrastructureConfiguration": "infrastructure-configuration", "AWS::ImageBuilder::DistributionConfiguration": "distribution-configuration",
		}[typ]
		if !strings.Contains(kind, "/") {
			kind += "/" + strings.ToLower(name)
		}
		a := arn("imagebuilder", region, acct, kind)
		r = refs{"Ref": a, "Arn": a, "Name": name}
	default:
		return nil, fmt.Errorf("%s %s: shared/testkit/cfn does not know the references of this type", id, typ)
	}
	v, ok := r[attr]
	if !ok {
		return nil, fmt.Errorf("%s %s has no attribute %s known to shared/testkit/cfn", id, typ, attr)
	}
	return v, nil
}

// JSON resolves v and returns it as JSON; a string is taken as JSON text
// already (a policy document written with Fn::Sub).
func (s *Stack) JSON(v any) ([]byte, error) {
	r, err := s.Value(v)
	if err != nil {
		return nil, err
	}
	if str, ok := r.(string); ok {
		return []byte(str), nil
	}
	return json.Marshal(r)
}
