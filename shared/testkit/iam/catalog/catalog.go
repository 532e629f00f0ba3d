package catalog

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

//go:embed actions.json
var actionsJSON []byte

// partitionPrefix is how every ARN template in the catalogue starts.
const partitionPrefix = "arn:${Partition}:"

// pagePrefix is where every Service Authorization Reference page lives.
const pagePrefix = "https://docs.aws.amazon.com/service-authorization/latest/reference/"

// accessLevels are the values SAR's "Access level" column takes; a cell
// may hold several, comma-separated ("Tagging, Write").
var accessLevels = []string{"List", "Read", "Write", "Permissions management", "Tagging"}

// Catalog is the parsed, validated catalogue.
type Catalog struct {
	// Source says where and when the data was read.
	Source string

	actions    map[string]Action // key: lower-case "service:action"
	sorted     []Action
	types      map[string]ResourceType // key: "service:" + exact type name
	operations map[string]Operation    // key: lower-case "service:operation"
}

// ResourceType is one row of a service's "Resource types" table.
type ResourceType struct {
	// Service is the IAM prefix ("ec2").
	Service string
	// Name is the type as SAR spells it ("volume", "workflowStepExecution",
	// "Secret").
	Name string
	// ARN is the template, e.g. arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}.
	ARN string
	// ConditionKeys are the keys SAR lists for the type.
	ConditionKeys []string
}

// ActionResource is one resource type of an action's row.
type ActionResource struct {
	Type ResourceType
	// Required is SAR's asterisk.
	Required bool
}

// Scenario is one of the alternative resource sets SAR gives for a few
// actions (ec2:RunInstances, cloudwatch:TagResource, ...).
type Scenario struct {
	Name      string
	Resources []ActionResource
}

// Action is one row group of a service's "Actions" table.
type Action struct {
	// Name is "service:Action", e.g. "ec2:DeleteVolume".
	Name string
	// Service is the IAM prefix ("ec2").
	Service string
	// Access is SAR's access level ("Write", "Tagging, Write").
	Access string
	// Resources are the action's resource types; empty means the action
	// takes Resource "*" only.
	Resources []ActionResource
	// ConditionKeys are the request-level keys (those on the row without a
	// resource type).
	ConditionKeys []string
	// DependentActions are further IAM actions the call needs.
	DependentActions []string
	// Scenarios are SAR's alternative resource sets, where it gives any.
	Scenarios []Scenario
	// Page is the SAR page the entry comes from.
	Page string
	// Note records anything surprising or unconfirmed.
	Note string
}

// Operation is an SDK operation whose name is no IAM action of its service
// (dynamodb's TransactWriteItems): the actions that authorize it instead.
type Operation struct {
	// Name is "service:Operation".
	Name    string
	Actions []string
	Note    string
}

// Keys returns every condition key the action supports: its own plus those
// of its resource types (and of its scenarios' types), sorted, without
// duplicates. It is meant for the evaluator's KnownKeys.
func (a Action) Keys() []string {
	seen := map[string]bool{}
	var keys []string
	add := func(ks []string) {
		for _, k := range ks {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	add(a.ConditionKeys)
	for _, r := range a.Resources {
		add(r.Type.ConditionKeys)
	}
	for _, s := range a.Scenarios {
		for _, r := range s.Resources {
			add(r.Type.ConditionKeys)
		}
	}
	sort.Strings(keys)
	return keys
}

// RequiredResources returns the resource types SAR marks required.
func (a Action) RequiredResources() []ResourceType {
	var out []ResourceType
	for _, r := range a.Resources {
		if r.Required {
			out = append(out, r.Type)
		}
	}
	return out
}

// Resource returns the action's resource entry of the given type name.
func (a Action) Resource(typeName string) (ActionResource, bool) {
	for _, r := range a.Resources {
		if r.Type.Name == typeName {
			return r, true
		}
	}
	return ActionResource{}, false
}

// Load parses and validates the embedded actions.json.
func Load() (*Catalog, error) {
	return parse(actionsJSON)
}

// MustLoad is Load that panics on error; for tooling only.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Action looks an action up by its IAM name, "ec2:DeleteVolume"; the match
// is case-insensitive.
func (c *Catalog) Action(name string) (Action, bool) {
	a, ok := c.actions[strings.ToLower(name)]
	if !ok {
		return Action{}, false
	}
	return a.clone(), true
}

// Actions returns every action, sorted by name.
func (c *Catalog) Actions() []Action {
	out := make([]Action, len(c.sorted))
	for i, a := range c.sorted {
		out[i] = a.clone()
	}
	return out
}

// ResourceType looks up a resource type of a service by its exact SAR name.
func (c *Catalog) ResourceType(service, name string) (ResourceType, bool) {
	t, ok := c.types[service+":"+name]
	if !ok {
		return ResourceType{}, false
	}
	t.ConditionKeys = slices.Clone(t.ConditionKeys)
	return t, true
}

// ActionsFor returns the IAM actions that authorize an SDK operation of a
// service: those the catalogue records for the operation where its name is
// no IAM action (dynamodb TransactWriteItems), else the action of the same
// name. It reports false for an operation the catalogue does not know.
func (c *Catalog) ActionsFor(service, operation string) ([]string, bool) {
	key := strings.ToLower(service + ":" + operation)
	if op, ok := c.operations[key]; ok {
		return slices.Clone(op.Actions), true
	}
	if a, ok := c.actions[key]; ok {
		return []string{a.Name}, true
	}
	return nil, false
}

// Operation returns the catalogue's record of an SDK operation that is no
// IAM action of its service.
func (c *Catalog) Operation(service, operation string) (Operation, bool) {
	op, ok := c.operations[strings.ToLower(service+":"+operation)]
	if !ok {
		return Operation{}, false
	}
	op.Actions = slices.Clone(op.Actions)
	return op, true
}

func (a Action) clone() Action {
	a.Resources = cloneResources(a.Resources)
	a.ConditionKeys = slices.Clone(a.ConditionKeys)
	a.DependentActions = slices.Clone(a.DependentActions)
	if a.Scenarios != nil {
		sc := make([]Scenario, len(a.Scenarios))
		for i, s := range a.Scenarios {
			sc[i] = Scenario{Name: s.Name, Resources: cloneResources(s.Resources)}
		}
		a.Scenarios = sc
	}
	return a
}

func cloneResources(rs []ActionResource) []ActionResource {
	if rs == nil {
		return nil
	}
	out := make([]ActionResource, len(rs))
	for i, r := range rs {
		r.Type.ConditionKeys = slices.Clone(r.Type.ConditionKeys)
		out[i] = r
	}
	return out
}

// The file's shape.
type fileJSON struct {
	Source   string                 `json:"source"`
	Services map[string]serviceJSON `json:"services"`
}

type serviceJSON struct {
	Name          string                      `json:"name"`
	Page          string                      `json:"page"`
	FormerPage    string                      `json:"formerPage"`
	ResourceTypes map[string]resourceTypeJSON `json:"resourceTypes"`
	Actions       map[string]actionJSON       `json:"actions"`
	Operations    map[string]operationJSON    `json:"operations"`
}

type resourceTypeJSON struct {
	ARN           string   `json:"arn"`
	ConditionKeys []string `json:"conditionKeys"`
}

type actionResourceJSON struct {
	Type     string `json:"type"`
	Required bool   `json:"required"`
}

type scenarioJSON struct {
	Name      string               `json:"name"`
	Resources []actionResourceJSON `json:"resources"`
}

type actionJSON struct {
	Access           string               `json:"access"`
	Resources        []actionResourceJSON `json:"resources"`
	ConditionKeys    []string             `json:"conditionKeys"`
	DependentActions []string             `json:"dependentActions"`
	Scenarios        []scenarioJSON       `json:"scenarios"`
	Note             string               `json:"note"`
}

type operationJSON struct {
	Actions []string `json:"actions"`
	Note    string   `json:"note"`
}

// parse decodes and validates a catalogue file; every problem found is
// reported, joined.
func parse(data []byte) (*Catalog, error) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("catalog: decode actions.json: %w", err)
	}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("catalog: "+format, args...))
	}
	if strings.TrimSpace(f.Source) == "" {
		bad("empty source")
	}
	if len(f.Services) == 0 {
		bad("no services")
	}
	c := &Catalog{
		Source:     f.Source,
		actions:    map[string]Action{},
		types:      map[string]ResourceType{},
		operations: map[string]Operation{},
	}
	for _, svc := range sortedKeys(f.Services) {
		s := f.Services[svc]
		if svc == "" || svc != strings.ToLower(svc) || strings.Contains(svc, ":") {
			bad("service prefix %q: want a lower-case IAM prefix", svc)
		}
		if !strings.HasPrefix(s.Page, pagePrefix) || len(s.Page) == len(pagePrefix) {
			bad("%s: page %q is not a Service Authorization Reference page", svc, s.Page)
		}
		if s.FormerPage != "" && !strings.HasPrefix(s.FormerPage, pagePrefix) {
			bad("%s: formerPage %q is not a Service Authorization Reference page", svc, s.FormerPage)
		}
		if len(s.Actions) == 0 {
			bad("%s: no actions", svc)
		}
		for _, name := range sortedKeys(s.ResourceTypes) {
			rt := s.ResourceTypes[name]
			if name == "" {
				bad("%s: resource type with no name", svc)
			}
			if !strings.HasPrefix(rt.ARN, partitionPrefix) {
				bad("%s: resource type %s: ARN %q does not start with %s", svc, name, rt.ARN, partitionPrefix)
			}
			if _, err := templateVars(rt.ARN); err != nil {
				bad("%s: resource type %s: %v", svc, name, err)
			}
			checkKeys(bad, svc+": resource type "+name, rt.ConditionKeys)
			c.types[svc+":"+name] = ResourceType{Service: svc, Name: name, ARN: rt.ARN, ConditionKeys: append([]string{}, rt.ConditionKeys...)}
		}
		resolve := func(where string, rs []actionResourceJSON) []ActionResource {
			out := []ActionResource{}
			seen := map[string]bool{}
			for _, r := range rs {
				t, ok := c.types[svc+":"+r.Type]
				if !ok {
					bad("%s: resource type %q is not in %s's resourceTypes", where, r.Type, svc)
					continue
				}
				if seen[r.Type] {
					bad("%s: resource type %q listed twice", where, r.Type)
				}
				seen[r.Type] = true
				out = append(out, ActionResource{Type: t, Required: r.Required})
			}
			return out
		}
		for _, name := range sortedKeys(s.Actions) {
			a := s.Actions[name]
			full := svc + ":" + name
			if name == "" || strings.ContainsAny(name, ":*? ") {
				bad("%s: bad action name %q", svc, name)
			}
			if _, dup := c.actions[strings.ToLower(full)]; dup {
				bad("%s: listed twice (names are case-insensitive)", full)
			}
			if !validAccess(a.Access) {
				bad("%s: access %q is not one of %s", full, a.Access, strings.Join(accessLevels, ", "))
			}
			checkKeys(bad, full, a.ConditionKeys)
			for _, d := range a.DependentActions {
				if p, n, ok := strings.Cut(d, ":"); !ok || p == "" || n == "" {
					bad("%s: dependent action %q is not service:Action", full, d)
				}
			}
			act := Action{
				Name:             full,
				Service:          svc,
				Access:           a.Access,
				Resources:        resolve(full, a.Resources),
				ConditionKeys:    append([]string{}, a.ConditionKeys...),
				DependentActions: append([]string{}, a.DependentActions...),
				Page:             s.Page,
				Note:             a.Note,
			}
			for _, sc := range a.Scenarios {
				if sc.Name == "" {
					bad("%s: scenario with no name", full)
				}
				act.Scenarios = append(act.Scenarios, Scenario{Name: sc.Name, Resources: resolve(full+" scenario "+sc.Name, sc.Resources)})
			}
			c.actions[strings.ToLower(full)] = act
		}
	}
	// Operations may name actions of any service, so they are checked once
	// every action is in.
	for _, svc := range sortedKeys(f.Services) {
		for _, name := range sortedKeys(f.Services[svc].Operations) {
			op := f.Services[svc].Operations[name]
			full := svc + ":" + name
			if _, clash := c.actions[strings.ToLower(full)]; clash {
				bad("operation %s is also an action", full)
			}
			if len(op.Actions) == 0 {
				bad("operation %s: no actions", full)
			}
			for _, a := range op.Actions {
				if _, ok := c.actions[strings.ToLower(a)]; !ok {
					bad("operation %s: action %q is not in the catalogue", full, a)
				}
			}
			c.operations[strings.ToLower(full)] = Operation{Name: full, Actions: append([]string{}, op.Actions...), Note: op.Note}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, a := range c.actions {
		c.sorted = append(c.sorted, a)
	}
	sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].Name < c.sorted[j].Name })
	return c, nil
}

func checkKeys(bad func(string, ...any), where string, keys []string) {
	seen := map[string]bool{}
	for _, k := range keys {
		if p, n, ok := strings.Cut(k, ":"); !ok || p == "" || n == "" {
			bad("%s: condition key %q is not prefix:Key", where, k)
		}
		if seen[k] {
			bad("%s: condition key %q listed twice", where, k)
		}
		seen[k] = true
	}
}

func validAccess(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ",") {
		if !slices.Contains(accessLevels, strings.TrimSpace(part)) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// templateVars returns the ${Var} names of an ARN template, in order.
func templateVars(template string) ([]string, error) {
	var vars []string
	rest := template
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			return vars, nil
		}
		j := strings.IndexByte(rest[i+2:], '}')
		if j < 0 {
			return nil, fmt.Errorf("ARN template %q: unterminated ${", template)
		}
		name := rest[i+2 : i+2+j]
		if name == "" {
			return nil, fmt.Errorf("ARN template %q: empty ${}", template)
		}
		vars = append(vars, name)
		rest = rest[i+2+j+1:]
	}
}

// FormatARN fills an ARN template's ${Var} placeholders from vars, e.g.
//
//	FormatARN("arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}",
//		map[string]string{"Partition": "aws", "Region": "us-east-1", "Account": "123", "VolumeId": "vol-1"})
//
// gives "arn:aws:ec2:us-east-1:123:volume/vol-1". A placeholder with no
// entry in vars is an error naming every such variable; an entry that is
// present but empty fills in as empty (a template's own "::" already covers
// region-less ARNs). Values are inserted verbatim, so a value holding "${"
// is not expanded again.
func FormatARN(template string, vars map[string]string) (string, error) {
	var b strings.Builder
	var missing []string
	rest := template
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			b.WriteString(rest)
			break
		}
		j := strings.IndexByte(rest[i+2:], '}')
		if j < 0 {
			return "", fmt.Errorf("catalog: ARN template %q: unterminated ${", template)
		}
		name := rest[i+2 : i+2+j]
		b.WriteString(rest[:i])
		if v, ok := vars[name]; ok && name != "" {
			b.WriteString(v)
		} else {
			if !slices.Contains(missing, name) {
				missing = append(missing, name)
			}
			b.WriteString(rest[i : i+2+j+1])
		}
		rest = rest[i+2+j+1:]
	}
	if len(missing) > 0 {
		names := make([]string, len(missing))
		for k, m := range missing {
			names[k] = "${" + m + "}"
		}
		return "", fmt.Errorf("catalog: ARN template %q: unfilled %s", template, strings.Join(names, ", "))
	}
	return b.String(), nil
}
