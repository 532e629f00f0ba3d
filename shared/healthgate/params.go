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
	Categories    []types.EventTypeCategory
	Mode          Mode
	MaxWait       time.Duration
	OnHealthError OnHealthError
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

var servicePattern = regexp.MustCompile(`^[A-Z0-9_-]{2,30}$`)

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
		Regions       []string                  `json:"regions"`
		Services      []string                  `json:"services,omitempty"`
		Categories    []types.EventTypeCategory `json:"eventTypeCategories"`
		Mode          Mode                      `json:"mode"`
		MaxWait       string                    `json:"maxWait"`
		OnHealthError OnHealthError             `json:"onHealthError"`
	}{p.Regions, p.Services, p.Categories, p.Mode, p.MaxWait.String(), p.OnHealthError}
	b, _ := json.Marshal(out) // strings and lists of strings always marshal
	return string(b)
}
