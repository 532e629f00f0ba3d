package healthgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/aws/aws-sdk-go-v2/service/health/types"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/google/go-cmp/cmp"
)

// The accounts of the scope tests: the deployment targets A and B; C is
// another account of the organization.
const (
	accountA = "111111111111"
	accountB = "222222222222"
	accountC = "333333333333"
)

func scopedParams(t *testing.T, raw string) Params {
	t.Helper()
	p, err := ParseParams(raw, "us-east-1")
	if err != nil {
		t.Fatalf("ParseParams(%s): %v", raw, err)
	}
	return p
}

func arnsOf(events []Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ARN)
	}
	return out
}

// filters returns the filter of each call of op, decoded.
func filters(t *testing.T, f *fakehealthgate.Server, op string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, c := range f.Calls(op) {
		var in struct {
			Filter map[string]any `json:"filter"`
		}
		if err := json.Unmarshal(c.Body, &in); err != nil {
			t.Fatal(err)
		}
		out = append(out, in.Filter)
	}
	return out
}

func TestOrganizationScopeBlocksOnlyOnTheDeploymentsAccounts(t *testing.T) {
	f := fakehealthgate.New(t)
	f.SetPageSize(1) // every list in pages of one: events and affected accounts
	f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Accounts: []string{accountC}})
	p := scopedParams(t, `{"accounts":["`+accountA+`","`+accountB+`"],"services":["EC2"]}`)
	c := NewHealthClientFor(f.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: f.URL}}, nil)
	org := View{Organization: true}

	events, err := Check(context.Background(), c, p, org)
	if err != nil || len(events) != 0 {
		t.Fatalf("Check with an EC2 issue affecting only C = %+v, %v, want none", events, err)
	}

	onB := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Accounts: []string{accountC, accountB, "444444444444"}})
	f.ResetCalls()
	events, err = Check(context.Background(), c, p, org)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{onB.ARN}, arnsOf(events)); diff != "" {
		t.Fatalf("Check with an issue affecting B (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{accountB}, events[0].Accounts); diff != "" {
		t.Errorf("the event's accounts (-want +got):\n%s", diff)
	}
	// The accounts of the event came from DescribeAffectedAccountsForOrganization,
	// page by page (three accounts, pages of one).
	if n := f.Count("Health.DescribeAffectedAccountsForOrganization"); n != 3 {
		t.Errorf("DescribeAffectedAccountsForOrganization calls = %d, want 3 pages", n)
	}
	// One query scoped to the accounts (server-side), one without them
	// for public events.
	var scoped int
	for _, flt := range filters(t, f, "Health.DescribeEventsForOrganization") {
		if ids, ok := flt["awsAccountIds"]; ok {
			scoped++
			if diff := cmp.Diff([]any{accountA, accountB}, ids); diff != "" {
				t.Errorf("awsAccountIds (-want +got):\n%s", diff)
			}
		}
	}
	if scoped == 0 {
		t.Error("no DescribeEventsForOrganization call filtered on awsAccountIds")
	}

	msg := Decide(p, nil, events[0].StartTime, events, nil).Message
	for _, want := range []string{onB.ARN, "EC2 in us-east-1", "accounts: " + accountB, "started " + onB.StartTime.UTC().Format("2006-01-02T15:04:05Z"),
		"https://health.aws.amazon.com/health/home#/organization/event-log?eventID="} {
		if !strings.Contains(msg, want) {
			t.Errorf("blocked message does not name %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, accountC) {
		t.Errorf("blocked message names account C, which the deployment does not target:\n%s", msg)
	}
}

func TestOrganizationScopeStillBlocksOnAPublicEvent(t *testing.T) {
	f := fakehealthgate.New(t)
	public := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"}) // no accounts: PUBLIC
	c := NewHealthClientFor(f.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: f.URL}}, nil)
	p := scopedParams(t, `{"accounts":["`+accountA+`"]}`)
	events, err := Check(context.Background(), c, p, View{Organization: true})
	if err != nil || len(events) != 1 || events[0].ARN != public.ARN {
		t.Fatalf("Check = %+v, %v, want the public event: a Region's outage affects every account there", events, err)
	}
	if line := eventLine(events[0]); !strings.Contains(line, "public event") {
		t.Errorf("event line %q does not say it is a public event", line)
	}
}

func TestEventTypeCodesIncludeExcludeAndWildcards(t *testing.T) {
	f := fakehealthgate.New(t)
	ec2 := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", TypeCode: "AWS_EC2_OPERATIONAL_ISSUE"})
	ec2API := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", TypeCode: "AWS_EC2_API_ISSUE"})
	rds := f.AddEvent(fakehealthgate.Event{Service: "RDS", Region: "us-east-1", TypeCode: "AWS_RDS_OPERATIONAL_ISSUE"})
	c := NewHealthClientFor(f.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: f.URL}}, nil)
	tests := []struct {
		name, raw string
		want      []string
		// serverCodes is the eventTypeCodes AWS Health is asked to filter
		// on; nil when the gate matches them itself.
		serverCodes []any
	}{
		{"exclude lets a listed event pass", `{"excludeEventTypeCodes":["aws_ec2_operational_issue"]}`, []string{ec2API.ARN, rds.ARN}, nil},
		{"include blocks only on listed ones", `{"eventTypeCodes":["AWS_RDS_OPERATIONAL_ISSUE"]}`, []string{rds.ARN}, []any{"AWS_RDS_OPERATIONAL_ISSUE"}},
		{"wildcard include", `{"eventTypeCodes":["AWS_EC2_*"]}`, []string{ec2API.ARN, ec2.ARN}, nil},
		{"wildcard in the middle", `{"eventTypeCodes":["AWS_*_OPERATIONAL_ISSUE"]}`, []string{ec2.ARN, rds.ARN}, nil},
		{"wildcard exclude wins over include", `{"eventTypeCodes":["AWS_EC2_*"],"excludeEventTypeCodes":["*_API_ISSUE"]}`, []string{ec2.ARN}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.ResetCalls()
			events, err := Check(context.Background(), c, scopedParams(t, tt.raw), View{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, arnsOf(events)); diff != "" {
				t.Errorf("blocking events (-want +got):\n%s", diff)
			}
			flt := filters(t, f, "Health.DescribeEvents")[0]
			got, _ := flt["eventTypeCodes"].([]any)
			if diff := cmp.Diff(tt.serverCodes, got); diff != "" {
				t.Errorf("server-side eventTypeCodes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestActionabilitiesFilterOnTheServerAndAgain(t *testing.T) {
	f := fakehealthgate.New(t)
	f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"}) // INFORMATIONAL
	required := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Actionability: "ACTION_REQUIRED"})
	c := NewHealthClientFor(f.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: f.URL}}, nil)
	for _, view := range []View{{}, {Organization: true}} {
		events, err := Check(context.Background(), c, scopedParams(t, `{"actionabilities":["action_required"]}`), view)
		if err != nil || len(events) != 1 || events[0].ARN != required.ARN {
			t.Errorf("Check(%+v) = %+v, %v, want only the ACTION_REQUIRED event", view, events, err)
		}
	}
	p := Params{Regions: []string{"us-east-1"}, Categories: []types.EventTypeCategory{types.EventTypeCategoryIssue},
		Actionabilities: []types.EventActionability{types.EventActionabilityActionRequired}}
	in := []Event{
		{ARN: "a", Region: "us-east-1", Category: "issue", Status: "open", Actionability: "INFORMATIONAL"},
		{ARN: "b", Region: "us-east-1", Category: "issue", Status: "open"}, // none given: blocks on doubt
	}
	if diff := cmp.Diff([]string{"b"}, arnsOf(blocking(in, p))); diff != "" {
		t.Errorf("blocking (-want +got):\n%s", diff)
	}
}

func TestScopeKeysRefusedNamingTheKey(t *testing.T) {
	many := make([]string, 51)
	for i := range many {
		many[i] = `"1000000000` + string(rune('0'+i/10)) + string(rune('0'+i%10)) + `"`
	}
	tests := []struct {
		name, raw string
		want      []string
	}{
		{"account of 11 digits", `{"accounts":["12345678901"]}`, []string{"accounts:", `"12345678901" is not a 12-digit AWS account ID`}},
		{"account with letters", `{"accounts":["12345678901a"]}`, []string{"accounts:", "12345678901a"}},
		{"account as a number", `{"accounts":[123456789012]}`, []string{"accounts: want a list"}},
		{"more accounts than the API takes", `{"accounts":[` + strings.Join(many, ",") + `]}`, []string{"accounts: 51 accounts, at most 50"}},
		{"no accounts", `{"accounts":[]}`, []string{"accounts: empty"}},
		{"unknown actionability", `{"actionabilities":["URGENT"]}`, []string{"actionabilities:", `"URGENT" is not one of ACTION_REQUIRED, ACTION_MAY_BE_REQUIRED, INFORMATIONAL`}},
		{"bad event type code", `{"eventTypeCodes":["AWS_EC2:X"]}`, []string{"eventTypeCodes:", "AWS_EC2:X"}},
		{"a wildcard that matches everything", `{"excludeEventTypeCodes":["***"]}`, []string{"excludeEventTypeCodes:", "matches every event type"}},
		{"too many codes", `{"eventTypeCodes":["C01","C02","C03","C04","C05","C06","C07","C08","C09","C10","C11"]}`, []string{"eventTypeCodes: 11 codes, at most 10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseParams(tt.raw, "us-east-1")
			if !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("ParseParams(%s) error = %v, want ErrInvalidParams", tt.raw, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestAccountsWithoutTheOrganizationalView(t *testing.T) {
	p := scopedParams(t, `{"accounts":["`+accountA+`"]}`)
	if err := p.CheckScope(false, accountA); err != nil {
		t.Errorf("accounts naming only the gate's own account: %v, want accepted", err)
	}
	if err := p.CheckScope(true, accountB); err != nil {
		t.Errorf("accounts with the organizational view: %v, want accepted", err)
	}
	for _, own := range []string{accountB, ""} {
		err := p.CheckScope(false, own)
		if !errors.Is(err, ErrInvalidParams) || !strings.Contains(err.Error(), "accounts: "+accountA) || !strings.Contains(err.Error(), "ORGANIZATION_VIEW") {
			t.Errorf("CheckScope(false, %q) = %v, want the accounts key refused, saying the organizational view is needed", own, err)
		}
	}
	two := scopedParams(t, `{"accounts":["`+accountA+`","`+accountB+`"]}`)
	if err := two.CheckScope(false, accountA); err == nil {
		t.Error("accounts naming another account besides the gate's own: accepted, want refused")
	}
}

func TestScopeKeysRoundTrip(t *testing.T) {
	raw := `{"accounts":["` + accountA + `"],"eventTypeCodes":["AWS_EC2_*"],"excludeEventTypeCodes":["AWS_EC2_API_ISSUE"],"actionabilities":["ACTION_REQUIRED"]}`
	p := scopedParams(t, raw)
	back, err := ParseParams(p.UserParameters(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, back); diff != "" {
		t.Errorf("UserParameters round trip (-want +got):\n%s", diff)
	}
}

func TestMatchesCode(t *testing.T) {
	for _, tt := range []struct {
		pattern, code string
		want          bool
	}{
		{"AWS_EC2_OPERATIONAL_ISSUE", "AWS_EC2_OPERATIONAL_ISSUE", true},
		{"AWS_EC2_OPERATIONAL_ISSUE", "AWS_EC2_OPERATIONAL_ISSUE_2", false},
		{"AWS_EC2_*", "AWS_EC2_", true},
		{"AWS_EC2_*", "AWS_EC_2", false},
		{"*_ISSUE", "AWS_RDS_ISSUE", true},
		{"A*A", "A", false},
		{"A*B*C", "AXBYC", true},
		{"A*B*C", "AXCYB", false},
	} {
		if got := matchesCode(tt.pattern, tt.code); got != tt.want {
			t.Errorf("matchesCode(%q, %q) = %v, want %v", tt.pattern, tt.code, got, tt.want)
		}
	}
}

// The fake speaks the organization's calls as AWS Health does: their
// filters, their pages, and their limits.
func TestFakeSpeaksTheOrganizationCalls(t *testing.T) {
	f := fakehealthgate.New(t)
	many := make([]string, 25)
	for i := range many {
		many[i] = fmt.Sprintf("4000000000%02d", i)
	}
	e := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1", Accounts: many})
	c := health.NewFromConfig(f.AWSConfig())
	ctx := context.Background()

	// Pages of ten accounts: 10, 10, 5, in order.
	var got []string
	pages := health.NewDescribeAffectedAccountsForOrganizationPaginator(c, &health.DescribeAffectedAccountsForOrganizationInput{EventArn: aws.String(e.ARN), MaxResults: aws.Int32(10)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if page.EventScopeCode != types.EventScopeCodeAccountSpecific {
			t.Errorf("eventScopeCode = %s, want ACCOUNT_SPECIFIC", page.EventScopeCode)
		}
		got = append(got, page.AffectedAccounts...)
	}
	if diff := cmp.Diff(many, got); diff != "" {
		t.Errorf("affected accounts (-want +got):\n%s", diff)
	}
	if n := f.Count("Health.DescribeAffectedAccountsForOrganization"); n != 3 {
		t.Errorf("pages = %d, want 3", n)
	}

	unknown, err := c.DescribeAffectedAccountsForOrganization(ctx, &health.DescribeAffectedAccountsForOrganizationInput{EventArn: aws.String(e.ARN + "X")})
	if err != nil || unknown.EventScopeCode != types.EventScopeCodeNone || len(unknown.AffectedAccounts) != 0 {
		t.Errorf("an ARN the fake does not hold = %+v, %v, want scope NONE and no accounts", unknown, err)
	}

	refused := []struct {
		name string
		call func() error
		code string
	}{
		{"maxResults below 10", func() error {
			_, err := c.DescribeAffectedAccountsForOrganization(ctx, &health.DescribeAffectedAccountsForOrganizationInput{EventArn: aws.String(e.ARN), MaxResults: aws.Int32(5)})
			return err
		}, "ValidationException"},
		{"a page token of another event", func() error {
			first, err := c.DescribeAffectedAccountsForOrganization(ctx, &health.DescribeAffectedAccountsForOrganizationInput{EventArn: aws.String(e.ARN), MaxResults: aws.Int32(10)})
			if err != nil {
				return err
			}
			_, err = c.DescribeAffectedAccountsForOrganization(ctx, &health.DescribeAffectedAccountsForOrganizationInput{EventArn: aws.String(e.ARN + "X"), NextToken: first.NextToken})
			return err
		}, "InvalidPaginationToken"},
		{"awsAccountIds in an EventFilter", func() error {
			// The SDK's EventFilter has no awsAccountIds: send it raw.
			return rawDescribeEvents(t, f.URL, `{"filter":{"awsAccountIds":["`+accountA+`"]}}`)
		}, "SerializationException"},
		{"51 awsAccountIds", func() error {
			ids := make([]string, 51)
			for i := range ids {
				ids[i] = fmt.Sprintf("5000000000%02d", i)
			}
			_, err := c.DescribeEventsForOrganization(ctx, &health.DescribeEventsForOrganizationInput{Filter: &types.OrganizationEventFilter{AwsAccountIds: ids}})
			return err
		}, "ValidationException"},
		{"an unknown actionability", func() error {
			_, err := c.DescribeEventsForOrganization(ctx, &health.DescribeEventsForOrganizationInput{Filter: &types.OrganizationEventFilter{Actionabilities: []types.EventActionability{"SOON"}}})
			return err
		}, "ValidationException"},
	}
	for _, tt := range refused {
		var apiErr smithy.APIError
		if err := tt.call(); !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.code {
			t.Errorf("%s: error = %v, want %s", tt.name, err, tt.code)
		}
	}
}

// rawDescribeEvents posts a DescribeEvents body as it is, and returns the
// fake's error as a smithy.APIError.
func rawDescribeEvents(t *testing.T, url, body string) error {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Amz-Target", "AWSHealth_20160804.DescribeEvents")
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return &smithy.GenericAPIError{Code: out.Type, Message: out.Message}
}

func TestRecheckRecordsABoundedNumberOfEvents(t *testing.T) {
	few := []string{"a", "b"}
	if diff := cmp.Diff(few, recorded(few)); diff != "" {
		t.Errorf("recorded(2 ARNs) (-want +got):\n%s", diff)
	}
	many := make([]string, maxRecordedEvents+1)
	if got := recorded(many); got != nil {
		t.Errorf("recorded(%d ARNs) = %d ARNs, want none: such a stage is re-checked on any all-clear", len(many), len(got))
	}
}
