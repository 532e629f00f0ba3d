package healthgate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/health/types"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Mode says what the gate does while AWS Health shows a blocking event.
type Mode string

const (
	// ModeFail fails the action at once, naming the events.
	ModeFail Mode = "fail"
	// ModeWait keeps the action in progress (a continuation token) until
	// the events close or MaxWait passes.
	ModeWait Mode = "wait"
)

// OnHealthError says what the gate does when AWS Health cannot be asked.
type OnHealthError string

const (
	OnHealthErrorFail OnHealthError = "fail"
	OnHealthErrorPass OnHealthError = "pass"
)

// GlobalRegion is the Region AWS Health gives events that belong to no
// Region (IAM, Route 53, CloudFront, ...). The gate always checks it.
const GlobalRegion = "global"

// Limits of the parameters.
const (
	DefaultMaxWait = time.Hour
	// MaxMaxWait stays an hour below the 24 hours after which CodePipeline
	// fails a Lambda action that is still in progress, so the gate, not a
	// time-out, gives the last answer and names the events.
	MaxMaxWait = 23 * time.Hour
	// AWS Health filters on at most 10 Regions; one of them is "global".
	MaxRegions  = 9
	MaxServices = 10
	// MaxAccounts is the most account IDs OrganizationEventFilter's
	// awsAccountIds takes (AWS Health API reference, OrganizationEventFilter:
	// https://docs.aws.amazon.com/health/latest/APIReference/API_OrganizationEventFilter.html).
	MaxAccounts = 50
	// MaxEventTypeCodes is the most codes EventFilter's and
	// OrganizationEventFilter's eventTypeCodes take (10); the gate holds
	// excludeEventTypeCodes, which it applies itself, to the same bound.
	MaxEventTypeCodes = 10
)

// ErrInvalidParams marks a problem with UserParameters: a configuration
// error that no retry can fix.
var ErrInvalidParams = errors.New("invalid UserParameters")

// Params is one pipeline's gate configuration, from the action's
// UserParameters.
type Params struct {
	// Regions are the Regions whose events block; global events always do.
	Regions []string
	// Services limits the blocking events to these AWS Health service codes
	// (EC2, RDS); empty means every service.
	Services []string
	// Categories are the event type categories that block; default issue.
	Categories []types.EventTypeCategory
	// Accounts limits the blocking events to those affecting these
	// accounts (12-digit IDs); empty means any. Only the organizational view
	// sees other accounts' events: see CheckScope.
	Accounts []string
	// EventTypeCodes limits the blocking events to these event type codes;
	// ExcludeEventTypeCodes lets these pass. Either may hold "*" wildcards
	// (any run of characters), matched by the gate: AWS Health's filter
	// takes exact codes only.
	EventTypeCodes        []string
	ExcludeEventTypeCodes []string
	// Actionabilities limits the blocking events to these (ACTION_REQUIRED,
	// ACTION_MAY_BE_REQUIRED, INFORMATIONAL); empty means any.
	Actionabilities []types.EventActionability
	Mode            Mode
	MaxWait         time.Duration
	OnHealthError   OnHealthError
}

// DefaultParams is what an empty UserParameters means: open issues of any
// service in region (the function's own) and globally, failing at once.
func DefaultParams(region string) Params {
	return Params{
		Regions:       []string{region},
		Categories:    []types.EventTypeCategory{types.EventTypeCategoryIssue},
		Mode:          ModeFail,
		MaxWait:       DefaultMaxWait,
		OnHealthError: OnHealthErrorFail,
	}
}

// CheckedRegions are the Regions the check asks about: the configured
// ones and global.
func (p Params) CheckedRegions() []string {
	out := slices.Clone(p.Regions)
	if !slices.Contains(out, GlobalRegion) {
		out = append(out, GlobalRegion)
	}
	return out
}

// paramFields are the fields of the JSON form, in the order their problems
// are reported. Each is decoded on its own, so that its problem is
// reported under its name; parse sets the field of p only when it is valid.
var paramFields = []struct {
	name  string
	parse func(p *Params, raw json.RawMessage) error
}{
	{"regions", func(p *Params, raw json.RawMessage) error {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return errors.New("regions: want a list of Region names such as [\"us-east-1\"]")
		}
		if len(list) == 0 {
			return errors.New("regions: empty; leave it out to gate the function's own Region")
		}
		regions, err := parseRegions("regions", list)
		if err == nil {
			p.Regions = regions
		}
		return err
	}},
	{"services", func(p *Params, raw json.RawMessage) error {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return errors.New("services: want a list of AWS Health service codes such as [\"EC2\", \"RDS\"]")
		}
		services, err := parseServices(list)
		if err == nil {
			p.Services = services
		}
		return err
	}},
	{"eventTypeCategories", func(p *Params, raw json.RawMessage) error {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
			return fmt.Errorf("eventTypeCategories: want a non-empty list of %s", categoryNames())
		}
		cats, err := parseCategories(list)
		if err == nil {
			p.Categories = cats
		}
		return err
	}},
	{"accounts", func(p *Params, raw json.RawMessage) error {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil {
			return errors.New("accounts: want a list of 12-digit AWS account IDs such as [\"111122223333\"]")
		}
		accounts, err := parseAccounts(list)
		if err == nil {
			p.Accounts = accounts
		}
		return err
	}},
	{"eventTypeCodes", func(p *Params, raw json.RawMessage) error {
		codes, err := parseTypeCodes("eventTypeCodes", raw)
		if err == nil {
			p.EventTypeCodes = codes
		}
		return err
	}},
	{"excludeEventTypeCodes", func(p *Params, raw json.RawMessage) error {
		codes, err := parseTypeCodes("excludeEventTypeCodes", raw)
		if err == nil {
			p.ExcludeEventTypeCodes = codes
		}
		return err
	}},
	{"actionabilities", func(p *Params, raw json.RawMessage) error {
		var list []string
		if err := json.Unmarshal(raw, &list); err != nil || len(list) == 0 {
			return fmt.Errorf("actionabilities: want a non-empty list of %s", actionabilityNames())
		}
		values, err := parseActionabilities(list)
		if err == nil {
			p.Actionabilities = values
		}
		return err
	}},
	{"mode", func(p *Params, raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || (Mode(s) != ModeFail && Mode(s) != ModeWait) {
			return fmt.Errorf("mode: want \"fail\" or \"wait\", got %s", awsid.Clip(string(raw), 64))
		}
		p.Mode = Mode(s)
		return nil
	}},
	{"maxWait", func(p *Params, raw json.RawMessage) error {
		var s string
		d, err := time.Duration(0), json.Unmarshal(raw, &s)
		if err == nil {
			d, err = time.ParseDuration(strings.TrimSpace(s))
		}
		switch {
		case err != nil:
			return fmt.Errorf("maxWait: want a duration such as \"30m\" or \"2h\", got %s", awsid.Clip(string(raw), 64))
		case d <= 0 || d > MaxMaxWait:
			return fmt.Errorf("maxWait: %s is outside (0, %s]: CodePipeline fails a Lambda action after 24 hours in progress", d, MaxMaxWait)
		}
		p.MaxWait = d
		return nil
	}},
	{"onHealthError", func(p *Params, raw json.RawMessage) error {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil || (OnHealthError(s) != OnHealthErrorFail && OnHealthError(s) != OnHealthErrorPass) {
			return fmt.Errorf("onHealthError: want \"fail\" or \"pass\", got %s", awsid.Clip(string(raw), 64))
		}
		p.OnHealthError = OnHealthError(s)
		return nil
	}},
}

// knownFields names the fields of the JSON form, for the unknown-field error.
func knownFields() []string {
	names := make([]string, len(paramFields))
	for i, f := range paramFields {
		names[i] = f.name
	}
	return names
}

var (
	servicePattern = regexp.MustCompile(`^[A-Z0-9_-]{2,30}$`)
	accountPattern = regexp.MustCompile(`^[0-9]{12}$`)
	// typeCodePattern is AWS Health's pattern for an event type code,
	// [a-zA-Z0-9_-]{3,100}, and the gate's "*" wildcard.
	typeCodePattern = regexp.MustCompile(`^[A-Za-z0-9_*-]{3,100}$`)
)

// ParseParams reads an action's UserParameters: a JSON object such as
// {"regions":["us-east-1"],"services":["EC2"],"mode":"wait","maxWait":"2h"},
// or the older comma-separated list of Regions ("us-east-1, eu-west-1").
// Empty means DefaultParams(region). Every problem is reported, each
// naming its field, wrapped in ErrInvalidParams.
func ParseParams(raw, region string) (Params, error) {
	p := DefaultParams(region)
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		if !awsid.IsRegion(region) {
			return p, fmt.Errorf("%w: empty, and the function's own Region %q is not a Region name", ErrInvalidParams, region)
		}
		return p, nil
	case strings.HasPrefix(s, "{"):
		err := p.parseJSON([]byte(s))
		if err == nil {
			err = samePartition("regions", p.Regions, region)
		}
		if err != nil {
			return p, fmt.Errorf("%w: %w", ErrInvalidParams, err)
		}
		return p, nil
	default:
		regions, err := parseRegions("Regions", strings.Split(s, ","))
		if err == nil {
			err = samePartition("Regions", regions, region)
		}
		if err != nil {
			return p, fmt.Errorf("%w: %w", ErrInvalidParams, err)
		}
		p.Regions = regions
		return p, nil
	}
}

// samePartition refuses Regions outside the partition of own, the
// function's Region: AWS Health answers for its own partition only, so the
// gate would pass a deployment there without having seen its events.
func samePartition(field string, regions []string, own string) error {
	if own == "" {
		return nil
	}
	var errs []error
	for _, r := range regions {
		if r != GlobalRegion && awsid.PartitionOf(r) != awsid.PartitionOf(own) {
			errs = append(errs, fmt.Errorf("%s: %q is in partition %s, but the gate runs in %s (%s), whose AWS Health cannot see that Region's events; gate it with a function deployed in %s",
				field, r, awsid.PartitionOf(r), own, awsid.PartitionOf(own), awsid.PartitionOf(r)))
		}
	}
	return errors.Join(errs...)
}

func (p *Params) parseJSON(data []byte) error {
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&fields); err != nil {
		return fmt.Errorf("not valid JSON: %v", err)
	}
	if dec.More() {
		return errors.New("not valid JSON: more than one value")
	}
	var errs []error
	known := knownFields()
	var unknown []string
	for name := range fields {
		if !slices.Contains(known, name) {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		errs = append(errs, fmt.Errorf("%s: unknown field (known: %s)", name, strings.Join(known, ", ")))
	}

	for _, f := range paramFields {
		if raw, ok := fields[f.name]; ok {
			if err := f.parse(p, raw); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// parseRegions trims, lower-cases and checks Region names, skipping empty
// entries (a trailing comma) and repeats.
func parseRegions(field string, list []string) ([]string, error) {
	var out []string
	var errs []error
	for _, r := range list {
		r = strings.ToLower(strings.TrimSpace(r))
		switch {
		case r == "":
			continue
		case r != GlobalRegion && !awsid.IsRegion(r):
			errs = append(errs, fmt.Errorf("%s: %q is not a Region name such as us-east-1", field, awsid.Clip(r, 64)))
			continue
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	regional := slices.DeleteFunc(slices.Clone(out), func(r string) bool { return r == GlobalRegion })
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("%s: no Region given", field)
	case len(regional) > MaxRegions:
		return nil, fmt.Errorf("%s: %d Regions, at most %d (AWS Health filters on 10 Regions, one of them global)", field, len(regional), MaxRegions)
	}
	return out, nil
}

func parseServices(list []string) ([]string, error) {
	var out []string
	var errs []error
	for _, s := range list {
		s = strings.ToUpper(strings.TrimSpace(s))
		if !servicePattern.MatchString(s) {
			errs = append(errs, fmt.Errorf("services: %q is not an AWS Health service code such as EC2", awsid.Clip(s, 64)))
			continue
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	switch {
	case len(out) == 0:
		return nil, errors.New("services: empty; leave it out to gate every service")
	case len(out) > MaxServices:
		return nil, fmt.Errorf("services: %d services, at most %d", len(out), MaxServices)
	}
	return out, nil
}

func parseAccounts(list []string) ([]string, error) {
	var out []string
	var errs []error
	for _, a := range list {
		a = strings.TrimSpace(a)
		if !accountPattern.MatchString(a) {
			errs = append(errs, fmt.Errorf("accounts: %q is not a 12-digit AWS account ID", awsid.Clip(a, 64)))
			continue
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	switch {
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	case len(out) == 0:
		return nil, errors.New("accounts: empty; leave it out to gate every account")
	case len(out) > MaxAccounts:
		return nil, fmt.Errorf("accounts: %d accounts, at most %d (AWS Health's awsAccountIds filter takes %d)", len(out), MaxAccounts, MaxAccounts)
	}
	return out, nil
}

// parseTypeCodes reads eventTypeCodes or excludeEventTypeCodes: event type
// codes such as AWS_EC2_OPERATIONAL_ISSUE, case-insensitive, each of which
// may hold "*" wildcards (AWS_EC2_*).
func parseTypeCodes(field string, raw json.RawMessage) ([]string, error) {
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: want a list of AWS Health event type codes such as [\"AWS_EC2_OPERATIONAL_ISSUE\"] (\"*\" matches any run of characters)", field)
	}
	var out []string
	var errs []error
	for _, c := range list {
		c = strings.ToUpper(strings.TrimSpace(c))
		switch {
		case !typeCodePattern.MatchString(c):
			errs = append(errs, fmt.Errorf("%s: %q is not an AWS Health event type code such as AWS_EC2_OPERATIONAL_ISSUE (letters, digits, _ and -, 3 to 100 of them, and * as a wildcard)", field, awsid.Clip(c, 64)))
			continue
		case strings.Trim(c, "*") == "":
			errs = append(errs, fmt.Errorf("%s: %q matches every event type; leave the key out instead", field, c))
			continue
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	switch {
	case len(errs) > 0:
		return nil, errors.Join(errs...)
	case len(out) == 0:
		return nil, fmt.Errorf("%s: empty; leave it out", field)
	case len(out) > MaxEventTypeCodes:
		return nil, fmt.Errorf("%s: %d codes, at most %d", field, len(out), MaxEventTypeCodes)
	}
	return out, nil
}

func parseActionabilities(list []string) ([]types.EventActionability, error) {
	var out []types.EventActionability
	var errs []error
	for _, s := range list {
		v := types.EventActionability(strings.ToUpper(strings.TrimSpace(s)))
		if !slices.Contains(v.Values(), v) {
			errs = append(errs, fmt.Errorf("actionabilities: %q is not one of %s", awsid.Clip(s, 64), actionabilityNames()))
			continue
		}
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out, errors.Join(errs...)
}

func actionabilityNames() string {
	var names []string
	for _, v := range types.EventActionability("").Values() {
		names = append(names, string(v))
	}
	return strings.Join(names, ", ")
}

// CheckScope refuses accounts the check cannot see. Without the
// organizational view AWS Health answers for the caller's own account only
// (own; "" when unknown), so accounts may name only that account: naming
// another would pass its deployment on events it was never asked about.
func (p Params) CheckScope(organization bool, own string) error {
	if organization || len(p.Accounts) == 0 || (own != "" && len(p.Accounts) == 1 && p.Accounts[0] == own) {
		return nil
	}
	self := "its own account"
	if own != "" {
		self = "its own account " + own
	}
	return fmt.Errorf("%w: accounts: %s named, but without the organizational view (ORGANIZATION_VIEW=false) the gate sees only the AWS Health events of %s, so it cannot check the accounts named; leave accounts out (or name only %s), or deploy the gate with ORGANIZATION_VIEW=true in the organization's management or delegated administrator account",
		ErrInvalidParams, strings.Join(p.Accounts, ", "), self, self)
}

// matchesCode reports whether code matches pattern, whose "*" matches any
// run of characters (none included).
func matchesCode(pattern, code string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == code
	}
	if !strings.HasPrefix(code, parts[0]) {
		return false
	}
	code = code[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(code, part)
		if i < 0 {
			return false
		}
		code = code[i+len(part):]
	}
	return strings.HasSuffix(code, last)
}

// wantsCode reports whether an event of type code blocks under p's
// eventTypeCodes and excludeEventTypeCodes (an exclusion wins).
func (p Params) wantsCode(code string) bool {
	code = strings.ToUpper(code)
	if slices.ContainsFunc(p.ExcludeEventTypeCodes, func(pat string) bool { return matchesCode(pat, code) }) {
		return false
	}
	return len(p.EventTypeCodes) == 0 || slices.ContainsFunc(p.EventTypeCodes, func(pat string) bool { return matchesCode(pat, code) })
}

// exactCodes returns p's eventTypeCodes for AWS Health's server-side
// filter, which takes exact codes only: nil when any holds a wildcard (the
// gate then matches them all itself).
func (p Params) exactCodes() []string {
	if slices.ContainsFunc(p.EventTypeCodes, func(c string) bool { return strings.Contains(c, "*") }) {
		return nil
	}
	return p.EventTypeCodes
}

func parseCategories(list []string) ([]types.EventTypeCategory, error) {
	var out []types.EventTypeCategory
	var errs []error
	for _, s := range list {
		i := slices.IndexFunc(types.EventTypeCategory("").Values(), func(c types.EventTypeCategory) bool {
			return strings.EqualFold(string(c), strings.TrimSpace(s))
		})
		if i < 0 {
			errs = append(errs, fmt.Errorf("eventTypeCategories: %q is not one of %s", awsid.Clip(s, 64), categoryNames()))
			continue
		}
		if c := types.EventTypeCategory("").Values()[i]; !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out, errors.Join(errs...)
}

func categoryNames() string {
	var names []string
	for _, c := range types.EventTypeCategory("").Values() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// UserParameters renders p in the JSON form ParseParams reads, so that a
// check can be carried in a message and read back with the same rules.
func (p Params) UserParameters() string {
	out := struct {
		Regions       []string                   `json:"regions"`
		Services      []string                   `json:"services,omitempty"`
		Categories    []types.EventTypeCategory  `json:"eventTypeCategories"`
		Accounts      []string                   `json:"accounts,omitempty"`
		Codes         []string                   `json:"eventTypeCodes,omitempty"`
		ExcludeCodes  []string                   `json:"excludeEventTypeCodes,omitempty"`
		Actionability []types.EventActionability `json:"actionabilities,omitempty"`
		Mode          Mode                       `json:"mode"`
		MaxWait       string                     `json:"maxWait"`
		OnHealthError OnHealthError              `json:"onHealthError"`
	}{p.Regions, p.Services, p.Categories, p.Accounts, p.EventTypeCodes, p.ExcludeEventTypeCodes, p.Actionabilities, p.Mode, p.MaxWait.String(), p.OnHealthError}
	b, _ := json.Marshal(out) // strings and lists of strings always marshal
	return string(b)
}
