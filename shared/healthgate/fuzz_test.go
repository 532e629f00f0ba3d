package healthgate

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// samples returns the sample events of one function.
func samples(f *testing.F, function string) [][]byte {
	f.Helper()
	all := sample.All(f, function)
	var out [][]byte
	for _, name := range slices.Sorted(maps.Keys(all)) {
		out = append(out, all[name])
	}
	return out
}

func FuzzDecodeJob(f *testing.F) {
	for _, s := range samples(f, "pipeline-health-gate") {
		f.Add(s)
	}
	f.Add([]byte(`{"CodePipeline.job":{"id":"x\u0000y"}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		job, err := DecodeJob(raw)
		if job.ID != "" && !validJobID(job.ID) {
			t.Errorf("DecodeJob returned an ID it should refuse: %q", job.ID)
		}
		if err == nil && job.ID == "" {
			t.Errorf("DecodeJob = nil error without a job ID")
		}
		// Whatever the event holds, deciding on it never panics and the
		// answer stays within CodePipeline's limits.
		p, perr := ParseParams(job.UserParameters, "us-east-1")
		var a Answer
		if perr != nil {
			a = InvalidAnswer(perr)
		} else {
			var tok *Token
			if job.ContinuationToken != "" {
				if parsed, err := ParseToken(job.ContinuationToken, time.Now()); err == nil {
					tok = &parsed
				}
			}
			a = Decide(p, tok, time.Now(), []Event{{ARN: job.ID, Service: "EC2", Region: "us-east-1", TypeCode: job.AccountID}}, nil)
		}
		if len([]rune(a.Message)) > MaxMessageLength || len([]rune(a.Summary)) > MaxSummaryLength || len(a.ContinuationToken) > MaxTokenLength {
			t.Errorf("answer exceeds CodePipeline's limits: message %d, summary %d, token %d", len([]rune(a.Message)), len([]rune(a.Summary)), len(a.ContinuationToken))
		}
	})
}

func FuzzParseParams(f *testing.F) {
	for _, s := range samples(f, "pipeline-health-gate") {
		var ev struct {
			Job struct {
				Data struct {
					ActionConfiguration struct {
						Configuration struct {
							UserParameters string
						}
					}
				}
			} `json:"CodePipeline.job"`
		}
		if err := json.Unmarshal(s, &ev); err != nil {
			f.Fatal(err)
		}
		f.Add(ev.Job.Data.ActionConfiguration.Configuration.UserParameters)
	}
	for _, s := range samples(f, "pipeline-stage-retry") {
		var m Recheck
		if json.Unmarshal(s, &m) == nil {
			for _, c := range m.Checks {
				f.Add(c)
			}
		}
	}
	f.Add("")
	f.Add(`{"maxWait":"23h0m0.000000001s"}`)
	f.Add(`{"accounts":["111111111111"," 222222222222"],"eventTypeCodes":["aws_ec2_*"],"excludeEventTypeCodes":["*_API_ISSUE"],"actionabilities":["action_required"]}`)
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := ParseParams(raw, "us-east-1")
		if err != nil {
			if !errors.Is(err, ErrInvalidParams) {
				t.Errorf("ParseParams error %v is not ErrInvalidParams", err)
			}
			return
		}
		regional := slices.DeleteFunc(slices.Clone(p.Regions), func(r string) bool { return r == GlobalRegion })
		switch {
		case len(p.Regions) == 0 || len(regional) > MaxRegions:
			t.Errorf("ParseParams(%q) Regions = %v", raw, p.Regions)
		case len(p.Categories) == 0 || len(p.Services) > MaxServices:
			t.Errorf("ParseParams(%q) = %+v: categories or services out of bounds", raw, p)
		case p.Mode != ModeFail && p.Mode != ModeWait, p.OnHealthError != OnHealthErrorFail && p.OnHealthError != OnHealthErrorPass:
			t.Errorf("ParseParams(%q) = %+v: mode or onHealthError invalid", raw, p)
		case p.MaxWait <= 0 || p.MaxWait > MaxMaxWait:
			t.Errorf("ParseParams(%q) maxWait = %s", raw, p.MaxWait)
		}
		// What a recheck message carries reads back the same.
		again, err := ParseParams(p.UserParameters(), "us-east-1")
		if err != nil {
			t.Fatalf("ParseParams(UserParameters()) = %v for %q", err, p.UserParameters())
		}
		if diff := cmp.Diff(p, again); diff != "" {
			t.Errorf("round trip of %q (-first +again):\n%s", raw, diff)
		}
	})
}

func FuzzDecodeRetryInput(f *testing.F) {
	for _, s := range samples(f, "pipeline-stage-retry") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		in, err := DecodeRetryInput(raw)
		failure, recheck, change := in.Failure, in.Recheck, in.Health
		set := 0
		for _, p := range []bool{failure != nil, recheck != nil, change != nil} {
			if p {
				set++
			}
		}
		switch {
		case err != nil:
			if set != 0 || !errors.Is(err, ErrNotStageFailure) {
				t.Errorf("DecodeRetryInput = %+v, %v", in, err)
			}
		case set != 1:
			t.Errorf("DecodeRetryInput = %+v, want exactly one kind", in)
		case failure != nil:
			if validStage(failure.Pipeline, failure.Stage, failure.ExecutionID) != nil {
				t.Errorf("DecodeRetryInput failure = %+v", failure)
			}
		case recheck != nil:
			if recheck.Check < 1 || len(recheck.Checks) == 0 || len(ScheduleName(*recheck)) > 64 || validStage(recheck.Pipeline, recheck.Stage, recheck.ExecutionID) != nil {
				t.Errorf("DecodeRetryInput recheck = %+v", recheck)
			}
		case change != nil:
			if !healthARN.MatchString(change.ARN) || change.Status == "" {
				t.Errorf("DecodeRetryInput health change = %+v", change)
			}
		default:
			t.Errorf("DecodeRetryInput returned nothing and no error")
		}
	})
}

// FuzzParseToken checks the continuation token, which comes back from
// CodePipeline, on its own: the job samples' tokens seed it. A token it
// accepts writes back to one it reads the same.
func FuzzParseToken(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, s := range samples(f, "pipeline-health-gate") {
		if job, err := DecodeJob(s); err == nil && job.ContinuationToken != "" {
			f.Add(job.ContinuationToken)
		}
	}
	f.Add(`{"gate":"aws-health","startedAt":"2025-06-02T08:00:00Z","attempt":1,"lastEvents":["arn:aws-us-gov:health:us-gov-west-1::event/EC2/X/Y"]}`)
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := ParseToken(s, now)
		if err != nil {
			return
		}
		again, err := ParseToken(tok.String(), now)
		if err != nil {
			t.Fatalf("ParseToken(%q) = %+v, whose String() %q it refuses: %v", s, tok, tok.String(), err)
		}
		// An empty lastEvents list reads back as none: the same token.
		if diff := cmp.Diff(tok, again, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ParseToken(String()) differs (-first +again):\n%s", diff)
		}
	})
}
