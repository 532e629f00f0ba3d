package fakehealthgate

import (
	"cmp"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is an AWS Health event the fake holds.
type Event struct {
	ARN      string
	Service  string // EC2
	Region   string // us-east-1, or global
	TypeCode string // AWS_EC2_OPERATIONAL_ISSUE
	Category string // issue (default), accountNotification, scheduledChange, investigation
	Status   string // open (default), closed, upcoming
	// AvailabilityZone is optional.
	AvailabilityZone string
	StartTime        time.Time // default: ten minutes before AddEvent
	LastUpdated      time.Time // default: StartTime
	// Accounts are the organization's accounts an account-specific event
	// affects; none makes it a public event (eventScopeCode PUBLIC), whose
	// affected accounts AWS Health always leaves empty.
	Accounts []string
	// Actionability is ACTION_REQUIRED, ACTION_MAY_BE_REQUIRED or
	// INFORMATIONAL (default).
	Actionability string
}

// Scope is the event's eventScopeCode.
func (e Event) Scope() string {
	if len(e.Accounts) > 0 {
		return "ACCOUNT_SPECIFIC"
	}
	return "PUBLIC"
}

// AddEvent adds an event and returns it with its defaults filled in (an
// ARN in AWS Health's format when none is given).
func (s *Server) AddEvent(e Event) Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if e.Category == "" {
		e.Category = "issue"
	}
	if e.Status == "" {
		e.Status = "open"
	}
	if e.Actionability == "" {
		e.Actionability = "INFORMATIONAL"
	}
	if e.TypeCode == "" {
		e.TypeCode = "AWS_" + e.Service + "_OPERATIONAL_ISSUE"
	}
	if e.StartTime.IsZero() {
		e.StartTime = time.Now().Add(-10 * time.Minute).Truncate(time.Millisecond)
	}
	if e.LastUpdated.IsZero() {
		e.LastUpdated = e.StartTime.Add(time.Duration(s.seq) * time.Millisecond)
	}
	if e.ARN == "" {
		e.ARN = fmt.Sprintf("arn:aws:health:%s::event/%s/%s/%s_%05d", e.Region, e.Service, e.TypeCode, e.TypeCode, s.seq)
	}
	s.events = append(s.events, e)
	return e
}

// SetEventStatus changes an event's status ("closed" ends it).
func (s *Server) SetEventStatus(arn, status string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.events {
		if s.events[i].ARN == arn {
			s.events[i].Status = status
			s.events[i].LastUpdated = time.Now().Truncate(time.Millisecond)
			return nil
		}
	}
	return fmt.Errorf("%w: %s", errNoSuchEvent, arn)
}

// ClearEvents removes every event.
func (s *Server) ClearEvents() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = nil
}

// SetPageSize makes DescribeEvents return at most n events per page
// (besides maxResults), to exercise paging; 0 restores the default.
func (s *Server) SetPageSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pageSize = n
}

// eventFilter is the union of EventFilter and OrganizationEventFilter
// fields the fake implements; decode refuses any other.
type eventFilter struct {
	Regions             []string `json:"regions"`
	Services            []string `json:"services"`
	EventStatusCodes    []string `json:"eventStatusCodes"`
	EventTypeCategories []string `json:"eventTypeCategories"`
	EventTypeCodes      []string `json:"eventTypeCodes"`
	EventArns           []string `json:"eventArns"`
	AvailabilityZones   []string `json:"availabilityZones"`
	// OrganizationEventFilter only.
	AwsAccountIds   []string `json:"awsAccountIds"`
	Actionabilities []string `json:"actionabilities"`
}

type describeEventsInput struct {
	Filter     *eventFilter `json:"filter"`
	MaxResults *int         `json:"maxResults"`
	NextToken  string       `json:"nextToken"`
	Locale     string       `json:"locale"`
}

type eventJSON struct {
	Arn               string   `json:"arn"`
	Service           string   `json:"service"`
	EventTypeCode     string   `json:"eventTypeCode"`
	EventTypeCategory string   `json:"eventTypeCategory"`
	Region            string   `json:"region"`
	AvailabilityZone  string   `json:"availabilityZone,omitempty"`
	StartTime         float64  `json:"startTime"`
	EndTime           *float64 `json:"endTime,omitempty"`
	LastUpdatedTime   float64  `json:"lastUpdatedTime"`
	StatusCode        string   `json:"statusCode"`
	EventScopeCode    string   `json:"eventScopeCode"`
	Actionability     string   `json:"actionability"`
}

const defaultPageSize = 100

func (s *Server) describeEvents(body []byte, organization bool) (any, *APIError) {
	var in describeEventsInput
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	f := in.Filter
	if f == nil {
		f = &eventFilter{}
	}
	if err := validateFilter(f, organization); err != nil {
		return nil, err
	}
	if in.Locale != "" && in.Locale != "en" {
		return nil, &APIError{Code: "UnsupportedLocale", Message: "The locale " + in.Locale + " is not supported"}
	}
	size := defaultPageSize
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 100 {
			return nil, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", *in.MaxResults)
		}
		size = *in.MaxResults
	}
	if s.pageSize > 0 {
		size = min(size, s.pageSize)
	}

	var matched []Event
	for _, e := range s.events {
		if f.matches(e) {
			matched = append(matched, e)
		}
	}
	// As AWS Health: the most recently updated first.
	slices.SortFunc(matched, func(a, b Event) int {
		return cmp.Or(b.LastUpdated.Compare(a.LastUpdated), cmp.Compare(a.ARN, b.ARN))
	})

	start := 0
	if in.NextToken != "" {
		var ok bool
		if start, ok = readToken(in.NextToken, body); !ok || start > len(matched) {
			return nil, &APIError{Code: "InvalidPaginationToken", Message: "Invalid pagination token"}
		}
	}
	end := min(start+size, len(matched))
	out := struct {
		Events    []eventJSON `json:"events"`
		NextToken string      `json:"nextToken,omitempty"`
	}{Events: []eventJSON{}}
	for _, e := range matched[start:end] {
		ej := eventJSON{
			Arn: e.ARN, Service: e.Service, EventTypeCode: e.TypeCode, EventTypeCategory: e.Category,
			Region: e.Region, AvailabilityZone: e.AvailabilityZone, StartTime: epoch(e.StartTime),
			LastUpdatedTime: epoch(e.LastUpdated), StatusCode: e.Status, EventScopeCode: e.Scope(),
			Actionability: e.Actionability,
		}
		if e.Status == "closed" {
			end := epoch(e.LastUpdated)
			ej.EndTime = &end
		}
		out.Events = append(out.Events, ej)
	}
	if end < len(matched) {
		out.NextToken = writeToken(end, body)
	}
	return out, nil
}

func validateFilter(f *eventFilter, organization bool) *APIError {
	lists := []struct {
		field   string
		values  []string
		max     int
		allowed []string
	}{
		{"regions", f.Regions, 10, nil},
		{"services", f.Services, 10, nil},
		{"eventStatusCodes", f.EventStatusCodes, 6, []string{"open", "closed", "upcoming"}},
		{"eventTypeCategories", f.EventTypeCategories, 10, []string{"issue", "accountNotification", "scheduledChange", "investigation"}},
		{"eventTypeCodes", f.EventTypeCodes, 10, nil},
		{"eventArns", f.EventArns, 10, nil},
		{"availabilityZones", f.AvailabilityZones, 100, nil},
		{"awsAccountIds", f.AwsAccountIds, 50, nil},
		{"actionabilities", f.Actionabilities, 3, []string{"ACTION_REQUIRED", "ACTION_MAY_BE_REQUIRED", "INFORMATIONAL"}},
	}
	for _, l := range lists {
		if l.values == nil {
			continue
		}
		if len(l.values) < 1 || len(l.values) > l.max {
			return validation("1 validation error detected: Value at 'filter.%s' failed to satisfy constraint: Member must have length between 1 and %d", l.field, l.max)
		}
		for _, v := range l.values {
			if l.allowed != nil && !slices.Contains(l.allowed, v) {
				return validation("1 validation error detected: Value '%s' at 'filter.%s' failed to satisfy constraint: Member must satisfy enum value set: %v", v, l.field, l.allowed)
			}
			if strings.ContainsAny(v, ":/") && l.field != "eventArns" || len(v) < 2 {
				return validation("1 validation error detected: Value '%s' at 'filter.%s' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:/]{2,}", v, l.field)
			}
		}
	}
	for _, a := range f.AwsAccountIds {
		if len(a) > 12 {
			return validation("1 validation error detected: Value '%s' at 'filter.awsAccountIds' failed to satisfy constraint: Member must have length less than or equal to 12", a)
		}
	}
	switch {
	case organization && f.AvailabilityZones != nil:
		return &APIError{Code: "SerializationException", Message: "OrganizationEventFilter has no availabilityZones"}
	case !organization && f.AwsAccountIds != nil:
		return &APIError{Code: "SerializationException", Message: "EventFilter has no awsAccountIds"}
	}
	return nil
}

// matches applies a filter as AWS Health does: every given field must
// match, and within a field any value may.
func (f *eventFilter) matches(e Event) bool {
	in := func(values []string, v string) bool { return values == nil || slices.Contains(values, v) }
	return in(f.Regions, e.Region) &&
		in(f.Services, e.Service) &&
		in(f.EventStatusCodes, e.Status) &&
		in(f.EventTypeCategories, e.Category) &&
		in(f.EventTypeCodes, e.TypeCode) &&
		in(f.EventArns, e.ARN) &&
		in(f.AvailabilityZones, e.AvailabilityZone) &&
		in(f.Actionabilities, e.Actionability) &&
		(f.AwsAccountIds == nil || slices.ContainsFunc(e.Accounts, func(a string) bool { return slices.Contains(f.AwsAccountIds, a) }))
}

// describeAffectedAccounts answers DescribeAffectedAccountsForOrganization:
// an account-specific event's accounts, in pages of maxResults (10 to
// 100), the token bound to the event; none for a public event, and scope
// NONE for an ARN it does not hold, as AWS Health does.
func (s *Server) describeAffectedAccounts(body []byte) (any, *APIError) {
	var in struct {
		EventArn   string `json:"eventArn"`
		MaxResults *int   `json:"maxResults"`
		NextToken  string `json:"nextToken"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.EventArn == "" {
		return nil, validation("1 validation error detected: Value null at 'eventArn' failed to satisfy constraint: Member must not be null")
	}
	size := defaultPageSize
	if in.MaxResults != nil {
		if *in.MaxResults < 10 || *in.MaxResults > 100 {
			return nil, validation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 10 and 100", *in.MaxResults)
		}
		size = *in.MaxResults
	}
	if s.pageSize > 0 {
		size = min(size, s.pageSize)
	}
	out := struct {
		AffectedAccounts []string `json:"affectedAccounts"`
		EventScopeCode   string   `json:"eventScopeCode"`
		NextToken        string   `json:"nextToken,omitempty"`
	}{AffectedAccounts: []string{}, EventScopeCode: "NONE"}
	// The token is bound to the event it pages through.
	digest := []byte(`{"filter":"` + in.EventArn + `"}`)
	start := 0
	if in.NextToken != "" {
		var ok bool
		if start, ok = readToken(in.NextToken, digest); !ok {
			return nil, &APIError{Code: "InvalidPaginationToken", Message: "Invalid pagination token"}
		}
	}
	i := slices.IndexFunc(s.events, func(e Event) bool { return e.ARN == in.EventArn })
	if i < 0 {
		return out, nil
	}
	e := s.events[i]
	out.EventScopeCode = e.Scope()
	if start > len(e.Accounts) {
		return nil, &APIError{Code: "InvalidPaginationToken", Message: "Invalid pagination token"}
	}
	end := min(start+size, len(e.Accounts))
	out.AffectedAccounts = append(out.AffectedAccounts, e.Accounts[start:end]...)
	if end < len(e.Accounts) {
		out.NextToken = writeToken(end, digest)
	}
	return out, nil
}

// A page token is the offset and a digest of the request's filter, so a
// token used with another filter is refused, as AWS Health does.
func writeToken(offset int, body []byte) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset) + ":" + filterDigest(body)))
}

func readToken(token string, body []byte) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return 0, false
	}
	n, digest, ok := strings.Cut(string(raw), ":")
	offset, err := strconv.Atoi(n)
	return offset, ok && err == nil && offset >= 0 && digest == filterDigest(body)
}

func filterDigest(body []byte) string {
	var in struct {
		Filter json.RawMessage `json:"filter"`
	}
	_ = json.Unmarshal(body, &in)
	sum := sha256.Sum256(in.Filter)
	return hex.EncodeToString(sum[:8])
}
