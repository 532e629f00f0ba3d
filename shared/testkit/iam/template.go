package iam

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/ebs-ops/lambda-suite/shared/testkit/cfn"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam/policy"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

// Stack is one capability's SAM template resolved for a test account: the
// identity policies of its roles and the resource policies it creates.
type Stack struct {
	File  string // infra/sam/<capability>.yaml
	stack *cfn.Stack
	// roles: logical ID -> policies; roleARNs: logical ID -> ARN.
	roles    map[string][]policy.Source
	roleARNs map[string]string
	// functions: function logical ID -> role logical ID.
	functions map[string]string
	// resourcePolicies: resource ARN -> its policy (SNS, SQS, EventBridge,
	// KMS), with its kind.
	resourcePolicies map[string]resourcePolicy
	// topicKeys: topic ARN -> the ARN of the KMS key that encrypts it.
	topicKeys map[string]string
}

type resourcePolicy struct {
	kind    policy.ResourcePolicyKind
	sources []policy.Source
}

// managedPolicies are the AWS managed policies the templates attach, as
// AWS publishes them (AWS Managed Policy Reference). Any other managed
// policy ARN allows nothing here: the layer fails closed on what it does
// not know, and the report says so.
var managedPolicies = map[string]string{
	// AWSLambdaBasicExecutionRole: what every function needs to write its logs.
	"service-role/AWSLambdaBasicExecutionRole": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}`,
}

// DropEnv names one statement of a role's policy that the layer leaves
// out, as "<role>/<policy>#<index>" (the report's names) or
// "<role>/<policy>#<Sid>": the proof that a
// function's tests need it (TestEveryStatementIsNeeded).
const DropEnv = "IAM_DROP_STATEMENT"

// dropped returns src without the statement DropEnv names.
func dropped(src policy.Source) policy.Source {
	name, idx, ok := strings.Cut(os.Getenv(DropEnv), "#")
	if !ok || name != src.Name {
		return src
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		// A Sid, which stays put when statements are added before it.
		i = slices.IndexFunc(src.Doc.Statement, func(s policy.Statement) bool { return s.Sid == idx })
	}
	if i < 0 || i >= len(src.Doc.Statement) {
		return src
	}
	src.Doc.Statement = slices.Delete(slices.Clone(src.Doc.Statement), i, i+1)
	return src
}

// LoadStack reads infra/sam/<file> (found from the module's root) and
// resolves it for env.
func LoadStack(file string, env cfn.Env) (*Stack, error) {
	root, err := sample.Root()
	if err != nil {
		return nil, err
	}
	t, err := cfn.Read(filepath.Join(root, "infra", "sam", file))
	if err != nil {
		return nil, err
	}
	s, err := t.Resolve(env)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	st := &Stack{File: "infra/sam/" + file, stack: s, roles: map[string][]policy.Source{}, roleARNs: map[string]string{},
		functions: map[string]string{}, resourcePolicies: map[string]resourcePolicy{}, topicKeys: map[string]string{}}
	if err := st.readRoles(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := st.readFunctions(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if err := st.readResourcePolicies(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return st, nil
}

func (st *Stack) document(name string, v any) (policy.Source, error) {
	data, err := st.stack.JSON(v)
	if err != nil {
		return policy.Source{}, fmt.Errorf("%s: %w", name, err)
	}
	doc, err := policy.Parse(data)
	if err != nil {
		return policy.Source{}, fmt.Errorf("%s: %w", name, err)
	}
	return policy.Source{Name: name, Doc: doc}, nil
}

func (st *Stack) readRoles() error {
	roles, err := st.stack.Resources("AWS::IAM::Role")
	if err != nil {
		return err
	}
	for _, r := range roles {
		arn, err := st.stack.Value(map[string]any{"Fn::GetAtt": []any{r.ID, "Arn"}})
		if err != nil {
			return err
		}
		st.roleARNs[r.ID], _ = arn.(string)
		st.roles[r.ID] = nil
		inline, err := st.stack.Value(r.Properties["Policies"])
		if err != nil {
			return fmt.Errorf("%s Policies: %w", r.ID, err)
		}
		list, _ := inline.([]any)
		for _, p := range list {
			m, _ := p.(map[string]any)
			name, _ := m["PolicyName"].(string)
			src, err := st.document(r.ID+"/"+name, m["PolicyDocument"])
			if err != nil {
				return err
			}
			if src = dropped(src); len(src.Doc.Statement) > 0 {
				st.roles[r.ID] = append(st.roles[r.ID], src)
			}
		}
		managed, err := st.stack.Strings(r.Properties["ManagedPolicyArns"])
		if err != nil {
			return fmt.Errorf("%s ManagedPolicyArns: %w", r.ID, err)
		}
		for _, arn := range managed {
			_, name, _ := strings.Cut(arn, ":policy/")
			doc, ok := managedPolicies[name]
			if !ok {
				continue // allows nothing here; see managedPolicies
			}
			src, err := st.document(r.ID+"/"+name, doc)
			if err != nil {
				return err
			}
			st.roles[r.ID] = append(st.roles[r.ID], src)
		}
	}
	// Policies attached to roles by AWS::IAM::Policy.
	attached, err := st.stack.Resources("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
	if err != nil {
		return err
	}
	for _, p := range attached {
		targets, err := st.stack.Strings(p.Properties["Roles"])
		if err != nil {
			return fmt.Errorf("%s Roles: %w", p.ID, err)
		}
		for _, roleName := range targets {
			for id := range st.roles {
				name, _ := st.stack.Name(id)
				if name != roleName {
					continue
				}
				src, err := st.document(id+"/"+p.ID, p.Properties["PolicyDocument"])
				if err != nil {
					return err
				}
				st.roles[id] = append(st.roles[id], src)
			}
		}
	}
	return nil
}

func (st *Stack) readFunctions() error {
	fns, err := st.stack.Resources("AWS::Serverless::Function", "AWS::Lambda::Function")
	if err != nil {
		return err
	}
	for _, f := range fns {
		roleARN, err := st.stack.String(f.Properties["Role"])
		if err != nil {
			return fmt.Errorf("%s Role: %w", f.ID, err)
		}
		for id, arn := range st.roleARNs {
			if arn == roleARN {
				st.functions[f.ID] = id
			}
		}
		if _, ok := st.functions[f.ID]; !ok {
			return fmt.Errorf("%s: role %s is not a role of the template", f.ID, roleARN)
		}
	}
	return nil
}

func (st *Stack) readResourcePolicies() error {
	add := func(arn string, kind policy.ResourcePolicyKind, src policy.Source) {
		rp := st.resourcePolicies[arn]
		rp.kind = kind
		rp.sources = append(rp.sources, src)
		st.resourcePolicies[arn] = rp
	}
	list, err := st.stack.Resources("AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy", "AWS::Events::EventBusPolicy", "AWS::KMS::Key", "AWS::SNS::Topic")
	if err != nil {
		return err
	}
	env := st.stack.Env()
	for _, r := range list {
		switch r.Type {
		case "AWS::SNS::Topic":
			if k, ok := r.Properties["KmsMasterKeyId"]; ok {
				arn, err := st.stack.String(map[string]any{"Ref": r.ID})
				if err != nil {
					return err
				}
				key, err := st.stack.String(k)
				if err != nil {
					return fmt.Errorf("%s KmsMasterKeyId: %w", r.ID, err)
				}
				st.topicKeys[arn] = key
			}
		case "AWS::SNS::TopicPolicy":
			topics, err := st.stack.Strings(r.Properties["Topics"])
			if err != nil {
				return fmt.Errorf("%s Topics: %w", r.ID, err)
			}
			src, err := st.document(r.ID, r.Properties["PolicyDocument"])
			if err != nil {
				return err
			}
			for _, t := range topics {
				add(t, policy.OrdinaryResourcePolicy, src)
			}
		case "AWS::SQS::QueuePolicy":
			queues, err := st.stack.Strings(r.Properties["Queues"])
			if err != nil {
				return fmt.Errorf("%s Queues: %w", r.ID, err)
			}
			src, err := st.document(r.ID, r.Properties["PolicyDocument"])
			if err != nil {
				return err
			}
			for _, q := range queues {
				arn, err := QueueARN(env.Partition, env.Region, q)
				if err != nil {
					return fmt.Errorf("%s: %w", r.ID, err)
				}
				add(arn, policy.OrdinaryResourcePolicy, src)
			}
		case "AWS::Events::EventBusPolicy":
			bus, err := st.stack.String(r.Properties["EventBusName"])
			if err != nil {
				return fmt.Errorf("%s EventBusName: %w", r.ID, err)
			}
			doc := r.Properties["Policy"]
			if stmt, ok := r.Properties["Statement"]; ok {
				doc = map[string]any{"Version": "2012-10-17", "Statement": []any{stmt}}
			}
			src, err := st.document(r.ID, doc)
			if err != nil {
				return err
			}
			add(fmt.Sprintf("arn:%s:events:%s:%s:event-bus/%s", env.Partition, env.Region, env.Account, bus), policy.OrdinaryResourcePolicy, src)
		case "AWS::KMS::Key":
			arn, err := st.stack.String(map[string]any{"Fn::GetAtt": []any{r.ID, "Arn"}})
			if err != nil {
				return err
			}
			src, err := st.document(r.ID+"/KeyPolicy", r.Properties["KeyPolicy"])
			if err != nil {
				return err
			}
			add(arn, policy.KeyPolicy, src)
		}
	}
	return nil
}

// QueueARN turns a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)
// into the queue's ARN.
func QueueARN(partition, region, queueURL string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil {
		return "", fmt.Errorf("queue URL %q: %w", queueURL, err)
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return "", fmt.Errorf("queue URL %q is not .../<account>/<name>", queueURL)
	}
	return fmt.Sprintf("arn:%s:sqs:%s:%s:%s", partition, region, parts[0], parts[1]), nil
}

// TopicKey returns the KMS key that encrypts a topic of the stack.
func (st *Stack) TopicKey(topic string) (string, bool) {
	k, ok := st.topicKeys[topic]
	return k, ok
}

// Functions lists the template's functions by logical ID.
func (st *Stack) Functions() []string {
	var out []string
	for id := range st.functions {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// RoleOf returns the logical ID of a function's role.
func (st *Stack) RoleOf(function string) (string, bool) {
	r, ok := st.functions[function]
	return r, ok
}

// RolePolicies returns a role's identity policies and its ARN.
func (st *Stack) RolePolicies(role string) ([]policy.Source, string, bool) {
	p, ok := st.roles[role]
	return p, st.roleARNs[role], ok
}

// ResourcePolicy returns the policy the stack puts on the resource arn.
func (st *Stack) ResourcePolicy(arn string) ([]policy.Source, policy.ResourcePolicyKind, bool) {
	rp, ok := st.resourcePolicies[arn]
	return rp.sources, rp.kind, ok
}

// FromEnvironment binds a template to a function's configuration, the way
// the template itself ties them: for each variable of the function's
// Environment that env sets, the parameter the template sets it from takes
// env's value, and the resource it names takes the name env's value gives
// (a table's name, a topic's ARN, a queue's URL, ...). So a test or a local
// run that configures a function as it likes is evaluated against the
// stack that would configure it so.
func FromEnvironment(file, function string, env map[string]string) (Options, error) {
	root, err := sample.Root()
	if err != nil {
		return Options{}, err
	}
	t, err := cfn.Read(filepath.Join(root, "infra", "sam", file))
	if err != nil {
		return Options{}, err
	}
	resources := t.Section("Resources")
	fn, _ := resources[function].(map[string]any)
	if fn == nil {
		return Options{}, fmt.Errorf("%s has no resource %s", file, function)
	}
	props, _ := fn["Properties"].(map[string]any)
	envProp, _ := props["Environment"].(map[string]any)
	vars, _ := envProp["Variables"].(map[string]any)
	opts := Options{Names: map[string]string{}, Parameters: map[string]string{}}
	for name, expr := range vars {
		val, ok := env[name]
		if !ok || val == "" {
			continue
		}
		refs := refsIn(expr)
		// A variable set from a created resource or else from a parameter
		// (Fn::If) binds the resource: the stack that creates it is the one
		// under test.
		created := slices.ContainsFunc(refs, func(r reference) bool { _, ok := resources[r.id]; return ok })
		for _, ref := range refs {
			if _, isParam := t.Section("Parameters")[ref.id]; isParam {
				if ref.attr == "" && !created {
					opts.Parameters[ref.id] = val
				}
				continue
			}
			r, _ := resources[ref.id].(map[string]any)
			typ, _ := r["Type"].(string)
			if n := nameFromValue(typ, val); n != "" {
				opts.Names[ref.id] = n
			}
		}
	}
	return opts, nil
}

type reference struct{ id, attr string }

// refsIn lists the Refs and GetAtts in an expression, through Fn::If's
// branches (a variable set from a created resource or a parameter).
func refsIn(v any) []reference {
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	if id, ok := m["Ref"].(string); ok {
		return []reference{{id: id}}
	}
	if args, ok := m["Fn::GetAtt"].([]any); ok && len(args) == 2 {
		id, _ := args[0].(string)
		attr, _ := args[1].(string)
		return []reference{{id, attr}}
	}
	if args, ok := m["Fn::If"].([]any); ok && len(args) == 3 {
		return append(refsIn(args[1]), refsIn(args[2])...)
	}
	return nil
}

// nameFromValue reads a resource's physical name from a reference's value.
func nameFromValue(typ, val string) string {
	last := func(sep string) string { return val[strings.LastIndex(val, sep)+1:] }
	switch typ {
	case "AWS::DynamoDB::Table":
		if strings.HasPrefix(val, "arn:") {
			return last("/")
		}
		return val
	case "AWS::SNS::Topic", "AWS::SQS::Queue":
		if strings.HasPrefix(val, "arn:") {
			return last(":")
		}
		return last("/")
	case "AWS::KMS::Key", "AWS::Events::EventBus", "AWS::Scheduler::ScheduleGroup", "AWS::IAM::Role":
		return last("/")
	case "AWS::Serverless::Function", "AWS::Lambda::Function":
		return last(":")
	}
	return ""
}
