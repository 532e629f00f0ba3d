package healthgate

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/health"
	"github.com/aws/aws-sdk-go-v2/service/health/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Event is an AWS Health event as the gate reports it.
type Event struct {
	ARN           string
	Service       string
	Region        string
	TypeCode      string
	Category      string
	Status        string
	StartTime     time.Time
	Actionability string
	// Scope is the event's eventScopeCode: PUBLIC (a service event of its
	// Region, for every account), ACCOUNT_SPECIFIC or NONE.
	Scope string
	// Accounts are the accounts the event affects, as far as the check
	// knows them: its own account's ID without the organizational view,
	// the affected accounts among Params.Accounts with it; empty when not
	// looked up.
	Accounts []string
	// Link is the event in the AWS Health Dashboard.
	Link string
}

// View is whose AWS Health events a check sees: the organization's
// (DescribeEventsForOrganization, from its management or delegated
// administrator account) or the caller's own account's, whose ID is
// Account ("" when unknown).
type View struct {
	Organization bool
	Account      string
}

// pageSize is the most events DescribeEvents returns per page, and the
// most accounts DescribeAffectedAccountsForOrganization does.
const pageSize = 100

// Check returns the open events of p's categories in p's Regions and
// global ones, limited to p's services, event type codes, actionabilities
// and accounts when it names any, reading every page. In the
// organizational view (v.Organization) it asks DescribeEventsForOrganization,
// which sees every account's events; with p.Accounts, an account-specific
// event blocks only when DescribeAffectedAccountsForOrganization confirms it
// affects one of them, and a public event (a service event of its Region,
// which names no account) always does. AWS Health filters on the server
// what its filter can hold; the rest (wildcards, exclusions, accounts) is
// filtered here. The events come back sorted by Region, service and ARN,
// each once.
func Check(ctx context.Context, api HealthAPI, p Params, v View) ([]Event, error) {
	events, err := describe(ctx, api, p, v)
	if err != nil && ctx.Err() != nil {
		// The check's own time ran out, not only an endpoint's.
		return nil, fmt.Errorf("%w: %w", ErrOutOfTime, err)
	}
	return events, err
}

// ErrOutOfTime marks a check that ran out of the time the caller gave it
// (its context's deadline), as opposed to one endpoint's attempt timing
// out before the client failed over to the next.
var ErrOutOfTime = errors.New("the check ran out of time")

func describe(ctx context.Context, api HealthAPI, p Params, v View) ([]Event, error) {
	if !v.Organization {
		events, err := describeAccount(ctx, api, p)
		if err != nil {
			return nil, err
		}
		for i := range events {
			if v.Account != "" {
				events[i].Accounts = []string{v.Account}
			}
		}
		return blocking(events, p), nil
	}
	if len(p.Accounts) == 0 {
		events, err := describeOrganization(ctx, api, p, nil)
		if err != nil {
			return nil, err
		}
		return blocking(events, p), nil
	}
	// The account-specific events of p's accounts (awsAccountIds), each
	// confirmed. Public events name no account (their affected accounts
	// are always empty), and the API reference does not say whether an
	// awsAccountIds filter returns them: they come from a query without it,
	// so a Region's outage blocks whatever the filter does.
	specific, err := describeOrganization(ctx, api, p, p.Accounts)
	if err != nil {
		return nil, err
	}
	all, err := describeOrganization(ctx, api, p, nil)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, e := range blocking(all, p) {
		if e.Scope == string(types.EventScopeCodePublic) {
			out = append(out, e)
		}
	}
	for _, e := range blocking(specific, p) {
		if e.Scope == string(types.EventScopeCodePublic) {
			continue // from the query above
		}
		affected, err := affectedAccounts(ctx, api, e.ARN)
		if err != nil {
			return nil, err
		}
		e.Accounts = slices.DeleteFunc(affected, func(a string) bool { return !slices.Contains(p.Accounts, a) })
		if len(e.Accounts) == 0 && e.Scope == string(types.EventScopeCodeAccountSpecific) {
			continue // it affects none of the deployment's accounts
		}
		out = append(out, e)
	}
	return blocking(out, p), nil
}

func describeAccount(ctx context.Context, api HealthAPI, p Params) ([]Event, error) {
	pages := health.NewDescribeEventsPaginator(api, &health.DescribeEventsInput{
		Filter: &types.EventFilter{
			Regions:             p.CheckedRegions(),
			Services:            p.Services,
			EventStatusCodes:    []types.EventStatusCode{types.EventStatusCodeOpen},
			EventTypeCategories: p.Categories,
			EventTypeCodes:      p.exactCodes(),
			Actionabilities:     p.Actionabilities,
		},
		MaxResults: aws.Int32(pageSize),
	})
	var out []Event
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe AWS Health events: %w", err)
		}
		for _, e := range page.Events {
			out = append(out, event(e.Arn, e.Service, e.Region, e.EventTypeCode, e.EventTypeCategory, e.StatusCode, e.StartTime, e.Actionability, e.EventScopeCode, false))
		}
	}
	return out, nil
}

func describeOrganization(ctx context.Context, api HealthAPI, p Params, accounts []string) ([]Event, error) {
	pages := health.NewDescribeEventsForOrganizationPaginator(api, &health.DescribeEventsForOrganizationInput{
		Filter: &types.OrganizationEventFilter{
			Regions:             p.CheckedRegions(),
			Services:            p.Services,
			EventStatusCodes:    []types.EventStatusCode{types.EventStatusCodeOpen},
			EventTypeCategories: p.Categories,
			EventTypeCodes:      p.exactCodes(),
			Actionabilities:     p.Actionabilities,
			AwsAccountIds:       accounts,
		},
		MaxResults: aws.Int32(pageSize),
	})
	var out []Event
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe AWS Health events for the organization: %w", err)
		}
		for _, e := range page.Events {
			out = append(out, event(e.Arn, e.Service, e.Region, e.EventTypeCode, e.EventTypeCategory, e.StatusCode, e.StartTime, e.Actionability, e.EventScopeCode, true))
		}
	}
	return out, nil
}

// affectedAccounts lists the organization's accounts an event affects,
// reading every page.
func affectedAccounts(ctx context.Context, api HealthAPI, arn string) ([]string, error) {
	pages := health.NewDescribeAffectedAccountsForOrganizationPaginator(api, &health.DescribeAffectedAccountsForOrganizationInput{
		EventArn: aws.String(arn), MaxResults: aws.Int32(pageSize),
	})
	var out []string
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe the accounts affected by AWS Health event %s: %w", arn, err)
		}
		out = append(out, page.AffectedAccounts...)
	}
	return out, nil
}

func event(arn, service, region, code *string, category types.EventTypeCategory, status types.EventStatusCode, start *time.Time,
	actionability types.EventActionability, scope types.EventScopeCode, organization bool) Event {
	return Event{
		ARN: aws.ToString(arn), Service: aws.ToString(service), Region: aws.ToString(region),
		TypeCode: aws.ToString(code), Category: string(category), Status: string(status),
		StartTime: aws.ToTime(start), Actionability: string(actionability), Scope: string(scope),
		Link: DashboardLink(aws.ToString(arn), organization),
	}
}

// DashboardLink is the address of an event in the AWS Health Dashboard of
// the event's partition: the account's event log, or the organization's.
// The console's addresses, not a format AWS documents.
func DashboardLink(arn string, organization bool) string {
	host := "https://health.aws.amazon.com/health/home"
	switch {
	case strings.HasPrefix(arn, "arn:aws-cn:"):
		host = "https://console.amazonaws.cn/health/home"
	case strings.HasPrefix(arn, "arn:aws-us-gov:"):
		host = "https://console.amazonaws-us-gov.com/health/home"
	}
	view := "account"
	if organization {
		view = "organization"
	}
	// The ARN as it is, as the console writes it: its characters (letters,
	// digits, ":", "/", "_", "-") need no escaping in a fragment.
	return fmt.Sprintf("%s#/%s/event-log?eventID=%s&eventTab=details", host, view, arn)
}

// blocking keeps the events that match p, once each, in a stable order. The
// server filters already; filtering again means a filter that an endpoint
// ignored can never let an event through unseen, nor block on one outside
// p. Wildcards and exclusions of event type codes are matched only here:
// AWS Health's filter takes neither. An event without an actionability is
// kept: the gate blocks on doubt.
func blocking(events []Event, p Params) []Event {
	regions := p.CheckedRegions()
	var out []Event
	for _, e := range events {
		switch {
		case e.Status != string(types.EventStatusCodeOpen),
			!slices.Contains(regions, e.Region),
			len(p.Services) > 0 && !slices.Contains(p.Services, e.Service),
			!slices.Contains(p.Categories, types.EventTypeCategory(e.Category)),
			!p.wantsCode(e.TypeCode),
			len(p.Actionabilities) > 0 && e.Actionability != "" && !slices.Contains(p.Actionabilities, types.EventActionability(e.Actionability)),
			slices.ContainsFunc(out, func(o Event) bool { return o.ARN == e.ARN }):
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Event) int {
		return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.Service, b.Service), cmp.Compare(a.ARN, b.ARN))
	})
	return out
}

// DescribeHealthError says what went wrong asking AWS Health and what to
// do about it, in words for the pipeline's failure message.
func DescribeHealthError(err error) string {
	var apiErr smithy.APIError
	var maxAttempts *retry.MaxAttemptsError
	var sendErr *smithyhttp.RequestSendError
	switch {
	case errors.As(err, &apiErr) && apiErr.ErrorCode() == "SubscriptionRequiredException":
		return "the AWS Health API needs a Business, Enterprise On-Ramp or Enterprise Support plan on this account (SubscriptionRequiredException). " +
			"Subscribe the account to one"
	case errors.As(err, &apiErr) && strings.Contains(apiErr.ErrorCode(), "AccessDenied"):
		return fmt.Sprintf("the function's role may not call AWS Health (%s: %s). Allow health:DescribeEvents (health:DescribeEventsForOrganization and health:DescribeAffectedAccountsForOrganization with the organizational view)",
			apiErr.ErrorCode(), awsid.Clip(apiErr.ErrorMessage(), 64))
	case errors.As(err, &apiErr) && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool():
		attempts := ""
		if errors.As(err, &maxAttempts) {
			attempts = fmt.Sprintf(" after %d attempts", maxAttempts.Attempt)
		}
		return fmt.Sprintf("AWS Health throttled the check%s (%s). Retry the stage; if it keeps happening, fewer pipelines should check at the same moment",
			attempts, apiErr.ErrorCode())
	case errors.Is(err, ErrOutOfTime):
		// Only the check's own deadline: an endpoint that timed out before
		// the client failed over is told by the cases below.
		return "AWS Health did not answer in the time the gate had before its Lambda deadline. Retry the stage; if it keeps happening, raise the function's timeout"
	case errors.As(err, &sendErr):
		return fmt.Sprintf("AWS Health could not be reached (%s). Retry the stage; check the function's network path to AWS Health (a VPC needs a NAT gateway)", awsid.Clip(sendErr.Error(), 300))
	case serverError(err) > 0:
		return fmt.Sprintf("AWS Health answered with HTTP %d on every endpoint that answered. Retry the stage later", serverError(err))
	case errors.Is(err, context.DeadlineExceeded):
		// An endpoint's own attempt timed out, with time left for the check.
		return "AWS Health did not answer on any endpoint within the time the gate gives each. Retry the stage later"
	case errors.As(err, &apiErr):
		return fmt.Sprintf("AWS Health refused the check (%s: %s)", apiErr.ErrorCode(), awsid.Clip(apiErr.ErrorMessage(), 64))
	default:
		return fmt.Sprintf("asking AWS Health failed: %s", awsid.Clip(err.Error(), 300))
	}
}

// serverError returns the HTTP status of the first 5xx answer in err's
// tree, or 0. errors.As alone would stop at an endpoint that timed out
// (a response error with status 0) before the failover.
func serverError(err error) int {
	var respErr *awshttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return respErr.HTTPStatusCode()
	}
	var wrapped []error
	switch e := err.(type) { //nolint:errorlint // walks the wrap tree itself, one level at a time
	case interface{ Unwrap() []error }:
		wrapped = e.Unwrap()
	case interface{ Unwrap() error }:
		wrapped = []error{e.Unwrap()}
	}
	for _, w := range wrapped {
		if w == nil {
			continue
		}
		if code := serverError(w); code > 0 {
			return code
		}
	}
	return 0
}
