package healthgate

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/health/types"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/google/go-cmp/cmp"
)

func TestParseParams(t *testing.T) {
	issue := []types.EventTypeCategory{types.EventTypeCategoryIssue}
	tests := []struct {
		name    string
		raw     string
		want    Params
		wantErr []string
	}{
		{name: "empty", raw: "", want: DefaultParams("eu-west-1")},
		{name: "one Region", raw: "us-east-1",
			want: Params{Regions: []string{"us-east-1"}, Categories: issue, Mode: ModeFail, MaxWait: time.Hour, OnHealthError: OnHealthErrorFail}},
		{name: "comma form trimmed, repeats and blanks dropped", raw: " us-east-1 , EU-WEST-1,, us-east-1, ",
			want: Params{Regions: []string{"us-east-1", "eu-west-1"}, Categories: issue, Mode: ModeFail, MaxWait: time.Hour, OnHealthError: OnHealthErrorFail}},
		{name: "JSON, every field",
			raw: `{"regions":["us-east-1","eu-west-1"],"services":["ec2"," RDS"],"eventTypeCategories":["issue","ScheduledChange"],"mode":"wait","maxWait":"2h","onHealthError":"pass"}`,
			want: Params{Regions: []string{"us-east-1", "eu-west-1"}, Services: []string{"EC2", "RDS"},
				Categories: []types.EventTypeCategory{types.EventTypeCategoryIssue, types.EventTypeCategoryScheduledChange},
				Mode:       ModeWait, MaxWait: 2 * time.Hour, OnHealthError: OnHealthErrorPass}},
		{name: "JSON, defaults for the rest", raw: `{"mode":"wait"}`,
			want: Params{Regions: []string{"eu-west-1"}, Categories: issue, Mode: ModeWait, MaxWait: time.Hour, OnHealthError: OnHealthErrorFail}},
		{name: "global may be named", raw: `{"regions":["global","us-west-2"]}`,
			want: Params{Regions: []string{"global", "us-west-2"}, Categories: issue, Mode: ModeFail, MaxWait: time.Hour, OnHealthError: OnHealthErrorFail}},
		{name: "trailing garbage", raw: `{"mode":"wait"} {}`, wantErr: []string{"more than one value"}},
		{name: "JSON array", raw: `["us-east-1"]`, wantErr: []string{"Regions"}},
		{name: "regions empty", raw: `{"regions":[]}`, wantErr: []string{"regions: empty"}},
		{name: "too many Regions", raw: "us-east-1,us-east-2,us-west-1,us-west-2,eu-west-1,eu-west-2,eu-west-3,eu-central-1,eu-north-1,ap-south-1", wantErr: []string{"10 Regions, at most 9"}},
		{name: "too many services", raw: `{"services":["A1","A2","A3","A4","A5","A6","A7","A8","A9","A10","A11"]}`, wantErr: []string{"11 services, at most 10"}},
		{name: "service with a colon", raw: `{"services":["EC2:x"]}`, wantErr: []string{"services", "EC2:X"}},
		{name: "numbers for strings", raw: `{"mode":1,"maxWait":3600}`, wantErr: []string{"mode", "maxWait"}},
		{name: "negative maxWait", raw: `{"maxWait":"-1h"}`, wantErr: []string{"maxWait", "outside"}},
		{name: "unknown fields listed", raw: `{"Regions":["us-east-1"],"wait":true}`, wantErr: []string{"Regions: unknown field", "wait: unknown field"}},
		{name: "null", raw: `null`, wantErr: []string{"Regions"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseParams(tt.raw, "eu-west-1")
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ParseParams(%q) error = %v", tt.raw, err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ParseParams(%q) (-want +got):\n%s", tt.raw, diff)
				}
				return
			}
			if !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("ParseParams(%q) = %+v, %v, want ErrInvalidParams", tt.raw, got, err)
			}
			for _, part := range tt.wantErr {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("ParseParams(%q) error %q does not say %q", tt.raw, err, part)
				}
			}
		})
	}
}

func TestToken(t *testing.T) {
	now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	for _, tok := range []Token{
		{StartedAt: now.Add(-time.Hour), Attempt: 7},
		{StartedAt: now.Add(-time.Hour), Attempt: 7, LastEvents: []string{"arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/1"}},
	} {
		got, err := ParseToken(tok.String(), now)
		if err != nil || !cmp.Equal(got, tok) {
			t.Errorf("ParseToken(%s) = %+v, %v, want %+v", tok, got, err, tok)
		}
	}
	// Too many events to carry: the token keeps as many as fit.
	many := Token{StartedAt: now, Attempt: 1}
	for i := range 100 {
		many.LastEvents = append(many.LastEvents, fmt.Sprintf("arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/%03d", i))
	}
	if s := many.String(); len(s) > MaxTokenLength {
		t.Errorf("token with 100 events = %d characters, want at most %d", len(s), MaxTokenLength)
	} else if got, err := ParseToken(s, now); err != nil || len(got.LastEvents) == 0 || got.LastEvents[0] != many.LastEvents[0] {
		t.Errorf("ParseToken(token with 100 events) = %+v, %v, want the first events kept", got, err)
	}
	for _, bad := range []string{
		"", "deploy-42", `{"gate":"other","startedAt":"2025-06-02T08:00:00Z","attempt":1}`,
		`{"gate":"aws-health","startedAt":"yesterday","attempt":1}`,
		`{"gate":"aws-health","startedAt":"2025-06-03T08:00:00Z","attempt":1}`,
		`{"gate":"aws-health","startedAt":"2025-06-02T08:00:00Z","attempt":0}`,
		strings.Repeat("x", MaxTokenLength+1),
	} {
		if got, err := ParseToken(bad, now); err == nil {
			t.Errorf("ParseToken(%.40q) = %+v, nil, want an error", bad, got)
		}
	}
}

func TestFitMessage(t *testing.T) {
	lines := make([]string, 50)
	for i := range lines {
		lines[i] = fmt.Sprintf("- EC2 in us-east-1: AWS_EC2_OPERATIONAL_ISSUE (arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/%03d)", i)
	}
	tests := []struct {
		name      string
		limit     int
		wantLines int
		wantMore  string
	}{
		{"everything fits", 10000, 50, ""},
		{"some fit", 1000, 8, "- … and 42 more"},
		{"none fit", 150, 0, "- … and 50 more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fitMessage("Blocked by AWS Health: 50 open events.", lines, "Retry the stage later.", tt.limit)
			if n := len([]rune(got)); n > tt.limit {
				t.Errorf("fitMessage length = %d, want at most %d", n, tt.limit)
			}
			if n := strings.Count(got, "AWS_EC2_OPERATIONAL_ISSUE ("); n != tt.wantLines {
				t.Errorf("fitMessage kept %d events, want %d:\n%s", n, tt.wantLines, got)
			}
			if tt.wantMore != "" && !strings.Contains(got, tt.wantMore) {
				t.Errorf("fitMessage does not say %q:\n%s", tt.wantMore, got)
			}
			if !strings.HasSuffix(got, "Retry the stage later.") {
				t.Errorf("fitMessage lost the advice:\n%s", got)
			}
		})
	}
}

func TestRetryDelayBacksOff(t *testing.T) {
	c := RetryConfig{FirstDelay: 2 * time.Minute, MaxDelay: 15 * time.Minute}
	want := []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := c.Delay(i + 1); got != w {
			t.Errorf("Delay(%d) = %s, want %s", i+1, got, w)
		}
	}
}

func TestScheduleNameIsStableAndValid(t *testing.T) {
	m := Recheck{Pipeline: "web-app", Stage: "HealthGate", ExecutionID: "0b5c9e2a-7f3d-4e1b-9c8a-6d2e1f0a9b8c", Check: 12}
	a, b := ScheduleName(m), ScheduleName(m)
	if a != b || len(a) > 64 || strings.ContainsFunc(a, func(r rune) bool { return !strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789-_.", r) }) {
		t.Errorf("ScheduleName = %q, %q, want the same valid name (<= 64 of [0-9a-z-_.])", a, b)
	}
	m.RetriesSeen = 1
	if ScheduleName(m) == a {
		t.Errorf("ScheduleName does not change with the stage's retries")
	}
}

func TestRegionFromHealthHost(t *testing.T) {
	tests := []struct {
		host, want string
		ok         bool
	}{
		{"health.us-east-1.amazonaws.com.", "us-east-1", true},
		{"health.us-east-2.amazonaws.com", "us-east-2", true},
		{"global.health.amazonaws.com.", "", false},
		{"health.evil.example.com.", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got, ok := regionFromHealthHost(tt.host); got != tt.want || ok != tt.ok {
			t.Errorf("regionFromHealthHost(%q) = %q, %v, want %q, %v", tt.host, got, ok, tt.want, tt.ok)
		}
	}
}

// deadEndpoint is a loopback address where nothing listens.
func deadEndpoint(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestHealthClientFailsOverToTheStandby(t *testing.T) {
	f := fakehealthgate.New(t)
	blocker := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "us-east-1"})
	c := NewHealthClientFor(f.AWSConfig(), []Endpoint{
		{Region: "us-east-1", URL: deadEndpoint(t)},
		{Region: "us-east-2", URL: f.URL},
	}, nil)

	for range 2 { // the second check starts on the standby that answered
		events, err := Check(context.Background(), c, DefaultParams("us-east-1"), View{})
		if err != nil || len(events) != 1 || events[0].ARN != blocker.ARN {
			t.Fatalf("Check = %+v, %v, want the blocking event from the standby", events, err)
		}
	}
	calls := f.Calls("Health.DescribeEvents")
	if len(calls) != 2 || calls[0].Region != "us-east-2" {
		t.Errorf("standby calls = %+v, want 2 signed for us-east-2", calls)
	}
}

func TestHealthClientDoesNotFailOverARefusal(t *testing.T) {
	active, standby := fakehealthgate.New(t), fakehealthgate.New(t)
	active.Fail("Health.DescribeEvents", fakehealthgate.APIError{Code: "SubscriptionRequiredException", Message: "no plan"}, 0)
	c := NewHealthClientFor(active.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: active.URL}, {Region: "us-east-2", URL: standby.URL}}, nil)
	_, err := Check(context.Background(), c, DefaultParams("us-east-1"), View{})
	if err == nil || !strings.Contains(DescribeHealthError(err), "SubscriptionRequiredException") {
		t.Errorf("Check = %v, want the active endpoint's SubscriptionRequiredException", err)
	}
	if n := standby.Count(""); n != 0 {
		t.Errorf("standby calls = %d, want none: the active one answered", n)
	}
}

func TestHealthClientFailsOverASilentEndpoint(t *testing.T) {
	active, standby := fakehealthgate.New(t), fakehealthgate.New(t)
	active.Delay("Health.DescribeEvents", 10*time.Second)
	c := NewHealthClientFor(active.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: active.URL}, {Region: "us-east-2", URL: standby.URL}}, nil)
	c.AttemptTimeout = 300 * time.Millisecond
	if _, err := Check(context.Background(), c, DefaultParams("us-east-1"), View{}); err != nil {
		t.Fatalf("Check = %v, want the standby's answer", err)
	}
	if n := standby.Count("Health.DescribeEvents"); n != 1 {
		t.Errorf("standby calls = %d, want 1", n)
	}
}

func TestConfiguredHealthEndpointWins(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL_HEALTH", "http://127.0.0.1:4599")
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	lookups := 0
	c := NewHealthClient(context.Background(), cfg, func(context.Context, string) (string, error) {
		lookups++
		return "health.us-east-2.amazonaws.com.", nil
	}, nil)
	want := []Endpoint{{Region: "eu-west-1", URL: "http://127.0.0.1:4599"}}
	if diff := cmp.Diff(want, c.Endpoints()); diff != "" || lookups != 0 {
		t.Errorf("endpoints (-want +got):\n%s(lookups %d, want 0)", diff, lookups)
	}
}

func TestHealthEndpointsFollowTheGlobalName(t *testing.T) {
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("eu-west-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint != nil {
		t.Skip("an AWS_ENDPOINT_URL is set in this environment")
	}
	tests := []struct {
		name  string
		cname string
		err   error
		want  []Endpoint
	}{
		{"active is us-east-1", "health.us-east-1.amazonaws.com.", nil, []Endpoint{{Region: "us-east-1"}, {Region: "us-east-2"}}},
		{"failed over to us-east-2", "health.us-east-2.amazonaws.com.", nil, []Endpoint{{Region: "us-east-2"}, {Region: "us-east-1"}}},
		{"lookup fails", "", errors.New("no DNS"), []Endpoint{{Region: "us-east-1"}, {Region: "us-east-2"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewHealthClient(context.Background(), cfg, func(_ context.Context, host string) (string, error) {
				if host != GlobalHealthHost {
					t.Errorf("looked up %q, want %q", host, GlobalHealthHost)
				}
				return tt.cname, tt.err
			}, nil)
			if diff := cmp.Diff(tt.want, c.Endpoints()); diff != "" {
				t.Errorf("endpoints (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrganizationViewAsksForTheOrganization(t *testing.T) {
	f := fakehealthgate.New(t)
	blocker := f.AddEvent(fakehealthgate.Event{Service: "EC2", Region: "global"})
	c := NewHealthClientFor(f.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: f.URL}}, nil)
	events, err := Check(context.Background(), c, DefaultParams("us-east-1"), View{Organization: true})
	if err != nil || len(events) != 1 || events[0].ARN != blocker.ARN {
		t.Errorf("Check(organization) = %+v, %v, want the global event", events, err)
	}
	if n := f.Count("Health.DescribeEventsForOrganization"); n != 1 {
		t.Errorf("DescribeEventsForOrganization calls = %d, want 1", n)
	}
}

func TestBlockingFiltersAgain(t *testing.T) {
	p := Params{Regions: []string{"us-east-1"}, Services: []string{"EC2"}, Categories: []types.EventTypeCategory{types.EventTypeCategoryIssue}}
	in := []Event{
		{ARN: "b", Service: "EC2", Region: "us-east-1", Category: "issue", Status: "open"},
		{ARN: "a", Service: "EC2", Region: "global", Category: "issue", Status: "open"},
		{ARN: "b", Service: "EC2", Region: "us-east-1", Category: "issue", Status: "open"}, // repeated on a later page
		{ARN: "c", Service: "EC2", Region: "us-east-1", Category: "issue", Status: "closed"},
		{ARN: "d", Service: "RDS", Region: "us-east-1", Category: "issue", Status: "open"},
		{ARN: "e", Service: "EC2", Region: "eu-west-1", Category: "issue", Status: "open"},
		{ARN: "f", Service: "EC2", Region: "us-east-1", Category: "scheduledChange", Status: "open"},
	}
	var got []string
	for _, e := range blocking(in, p) {
		got = append(got, e.ARN)
	}
	if diff := cmp.Diff([]string{"a", "b"}, got); diff != "" {
		t.Errorf("blocking (-want +got):\n%s", diff)
	}
}

func TestHealthErrorWhileWaitingKeepsWaiting(t *testing.T) {
	started := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	arn := "arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_1"
	tok := Token{StartedAt: started, Attempt: 3, LastEvents: []string{arn}}
	healthErr := &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
	for _, onErr := range []OnHealthError{OnHealthErrorFail, OnHealthErrorPass} {
		t.Run(string(onErr), func(t *testing.T) {
			p := DefaultParams("us-east-1")
			p.Mode, p.MaxWait, p.OnHealthError = ModeWait, 2*time.Hour, onErr

			// Within maxWait: another continuation token, not a pass or a failure.
			a := Decide(p, &tok, started.Add(time.Hour), nil, healthErr)
			next, err := ParseToken(a.ContinuationToken, started.Add(time.Hour))
			if !a.Success || a.Verdict != VerdictWaiting || err != nil || next.Attempt != 4 || !next.StartedAt.Equal(started) || !cmp.Equal(next.LastEvents, tok.LastEvents) {
				t.Fatalf("Decide(Health error within maxWait) = %+v (token %+v, %v), want waiting on with attempt 4 and the last events", a, next, err)
			}
			for _, part := range []string{"ThrottlingException", arn} {
				if !strings.Contains(a.Summary, part) {
					t.Errorf("summary %q does not say %q", a.Summary, part)
				}
			}

			// Past maxWait: a failure naming the last known events and the error.
			a = Decide(p, &next, started.Add(2*time.Hour+time.Second), nil, healthErr)
			if a.Success || a.Verdict != VerdictBlocked || !strings.HasPrefix(a.Message, BlockedPrefix) {
				t.Fatalf("Decide(Health error past maxWait) = %+v, want a blocked failure", a)
			}
			for _, part := range []string{"ThrottlingException", arn, "5 checks"} {
				if !strings.Contains(a.Message, part) {
					t.Errorf("message %q does not say %q", a.Message, part)
				}
			}
		})
	}

	// Without a token, onHealthError decides.
	p := DefaultParams("us-east-1")
	p.Mode, p.MaxWait, p.OnHealthError = ModeWait, 2*time.Hour, OnHealthErrorPass
	if a := Decide(p, nil, started, nil, healthErr); !a.Success || a.Verdict != VerdictPassedOnHealthError || a.ContinuationToken != "" {
		t.Errorf("Decide(first check, Health error, pass) = %+v, want passed on the Health error", a)
	}
	p.OnHealthError = OnHealthErrorFail
	if a := Decide(p, nil, started, nil, healthErr); a.Success || a.Verdict != VerdictHealthError {
		t.Errorf("Decide(first check, Health error, fail) = %+v, want a Health error failure", a)
	}
}

func TestWaitingTokenCarriesTheBlockingEvents(t *testing.T) {
	now := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	p := DefaultParams("us-east-1")
	p.Mode, p.MaxWait = ModeWait, time.Hour
	ev := Event{ARN: "arn:aws:health:us-east-1::event/RDS/X/1", Service: "RDS", Region: "us-east-1", TypeCode: "X"}
	a := Decide(p, nil, now, []Event{ev}, nil)
	tok, err := ParseToken(a.ContinuationToken, now)
	if err != nil || !cmp.Equal(tok.LastEvents, []string{ev.ARN}) {
		t.Errorf("token %q = %+v, %v, want it to carry %s", a.ContinuationToken, tok, err, ev.ARN)
	}
}

func TestDeadlineAdviceOnlyWhenTheCheckRanOutOfTime(t *testing.T) {
	deadline := "did not answer in the time the gate had"

	// The active endpoint times out (its own attempt timeout), the standby
	// answers with a 5xx: not the Lambda deadline.
	active, standby := fakehealthgate.New(t), fakehealthgate.New(t)
	active.Delay("Health.DescribeEvents", 10*time.Second)
	standby.Fail("Health.DescribeEvents", fakehealthgate.APIError{Code: "InternalFailure", Message: "boom", Status: 503}, 0)
	c := NewHealthClientFor(active.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: active.URL}, {Region: "us-east-2", URL: standby.URL}}, nil)
	c.AttemptTimeout = 300 * time.Millisecond
	_, err := Check(context.Background(), c, DefaultParams("us-east-1"), View{})
	if err == nil {
		t.Fatal("Check = nil error, want the standby's 5xx")
	}
	if got := DescribeHealthError(err); strings.Contains(got, deadline) || !strings.Contains(got, "503") {
		t.Errorf("DescribeHealthError(active timed out, standby 503) = %q, want the 503 and no deadline advice", got)
	}

	// The check's own deadline passes: the deadline advice.
	slow := fakehealthgate.New(t)
	slow.Delay("Health.DescribeEvents", 10*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = Check(ctx, NewHealthClientFor(slow.AWSConfig(), []Endpoint{{Region: "us-east-1", URL: slow.URL}}, nil), DefaultParams("us-east-1"), View{})
	if got := DescribeHealthError(err); !errors.Is(err, ErrOutOfTime) || !strings.Contains(got, deadline) {
		t.Errorf("DescribeHealthError(check's deadline passed) = %q (%v), want the deadline advice", got, err)
	}
}
