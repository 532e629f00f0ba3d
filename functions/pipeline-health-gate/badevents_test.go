package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/healthgate"
)

// Bad events: one that names no job is not answered and makes no call;
// one that names a job gets exactly one answer, a failure that names the
// problem, and AWS Health is not asked. The fake records every call.
func TestBadEvents(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x", 300_000)
	base := func(t *testing.T) json.RawMessage { return sample(t, "job-json-params.json") }
	token := func(tok string) func(t *testing.T) json.RawMessage {
		return func(t *testing.T) json.RawMessage {
			return edit(t, base(t), func(_, _, data map[string]any) { data["continuationToken"] = tok })
		}
	}
	raw := func(s string) func(*testing.T) json.RawMessage {
		return func(*testing.T) json.RawMessage { return json.RawMessage(s) }
	}
	params := func(p string) func(t *testing.T) json.RawMessage {
		return func(t *testing.T) json.RawMessage { return withParams(t, base(t), p) }
	}
	const healthARN = "arn:aws:health:us-east-1::event/EC2/AWS_EC2_OPERATIONAL_ISSUE/AWS_EC2_OPERATIONAL_ISSUE_1"
	tests := []struct {
		name     string
		event    func(t *testing.T) json.RawMessage
		answered bool   // the event names a job, which is failed
		prefix   string // of the failure message
		want     string // in the failure message, or in the result's text
	}{
		// The wrong kind of event.
		{name: "a stage event", event: raw(`{"detail-type":"CodePipeline Stage Execution State Change","source":"aws.codepipeline","detail":{"state":"FAILED"}}`), want: "no CodePipeline.job.id"},
		{name: "an EC2 event", event: raw(`{"detail-type":"EC2 Instance State-change Notification","source":"aws.ec2","detail":{}}`), want: "no CodePipeline.job.id"},
		// Missing fields.
		{name: "no job id", event: raw(`{"CodePipeline.job":{"accountId":"123456789012","data":{}}}`), want: "no CodePipeline.job.id"},
		{name: "no data", event: raw(`{"CodePipeline.job":{"id":"` + jsonJob + `","accountId":"123456789012"}}`), answered: true, prefix: healthgate.InvalidEventPrefix, want: "FunctionName"},
		{name: "no action configuration", event: func(t *testing.T) json.RawMessage {
			return edit(t, base(t), func(_, cfg, _ map[string]any) { delete(cfg, "FunctionName"); delete(cfg, "UserParameters") })
		}, answered: true, prefix: healthgate.InvalidEventPrefix, want: "FunctionName"},
		// Wrong types.
		{name: "job id a number", event: raw(`{"CodePipeline.job":{"id":42}}`), want: "decode CodePipeline job event"},
		{name: "data a string", event: raw(`{"CodePipeline.job":{"id":"` + jsonJob + `","data":"x"}}`), answered: true, prefix: healthgate.InvalidEventPrefix, want: "data"},
		{name: "UserParameters a number", event: func(t *testing.T) json.RawMessage {
			return edit(t, base(t), func(_, cfg, _ map[string]any) { cfg["UserParameters"] = 42 })
		}, answered: true, prefix: healthgate.InvalidEventPrefix, want: "UserParameters"},
		{name: "token a number", event: func(t *testing.T) json.RawMessage {
			return edit(t, base(t), func(_, _, data map[string]any) { data["continuationToken"] = 42 })
		}, answered: true, prefix: healthgate.InvalidEventPrefix, want: "continuationToken"},
		{name: "regions a string", event: params(`{"regions":"us-east-1"}`), answered: true, prefix: healthgate.InvalidPrefix, want: "regions: want a list"},
		{name: "JSON null", event: raw(`null`), want: "no CodePipeline.job.id"},
		// Oversize.
		{name: "a 300 KB job id", event: raw(`{"CodePipeline.job":{"id":"` + big + `"}}`), want: "no CodePipeline.job.id"},
		{name: "300 KB UserParameters", event: params(`{"regions":["` + big + `"]}`), answered: true, prefix: healthgate.InvalidPrefix, want: "is not a Region name"},
		{name: "a 300 KB token", event: token(big), answered: true, prefix: healthgate.InvalidTokenPrefix, want: "more than 2048"},
		// Unknown fields in what the operator writes (the event's own new
		// fields are read past: see TestEventsThatAreRead).
		{name: "an unknown parameter", event: params(`{"regions":["us-east-1"],"region":"eu-west-1"}`), answered: true, prefix: healthgate.InvalidPrefix, want: "region: unknown field"},
		// ARNs of the wrong service or partition, and Regions of another
		// partition, whose events this gate's AWS Health cannot see.
		{name: "a token holding an S3 ARN", event: token(`{"gate":"aws-health","startedAt":"2025-06-02T08:00:00Z","attempt":1,"lastEvents":["arn:aws:s3:::bucket"]}`),
			answered: true, prefix: healthgate.InvalidTokenPrefix, want: "not an AWS Health event ARN"},
		{name: "a token holding an ARN of no partition", event: token(`{"gate":"aws-health","startedAt":"2025-06-02T08:00:00Z","attempt":1,"lastEvents":["` + strings.Replace(healthARN, "arn:aws:", "arn:aws-mars:", 1) + `"]}`),
			answered: true, prefix: healthgate.InvalidTokenPrefix, want: "aws-mars"},
		{name: "a Region of aws-cn", event: params(`{"regions":["cn-north-1"]}`), answered: true, prefix: healthgate.InvalidPrefix, want: "aws-cn"},
		{name: "a Region of aws-us-gov", event: params(`us-east-1, us-gov-west-1`), answered: true, prefix: healthgate.InvalidPrefix, want: "aws-us-gov"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if !tt.answered {
				res, err := f.h.Handle(context.Background(), tt.event(t))
				if err != nil || res.Answered || res.Verdict != healthgate.VerdictInvalid || !strings.Contains(res.Text, tt.want) {
					t.Errorf("Handle = %+v, %v, want rejected unanswered, saying %q", res, err, tt.want)
				}
				if calls := f.fake.Calls(""); len(calls) != 0 {
					t.Errorf("calls = %s, want none", callList(calls))
				}
				return
			}
			a := f.answer(t, tt.event(t), jsonJob)
			if a.Success || !strings.HasPrefix(a.Message, tt.prefix) || !strings.Contains(a.Message, tt.want) {
				t.Errorf("answer = %+v, want a failure starting %q and saying %q", a, tt.prefix, tt.want)
			}
			if n := len([]rune(a.Message)); n > healthgate.MaxMessageLength {
				t.Errorf("message is %d characters, more than CodePipeline takes", n)
			}
			if n := f.fake.Count("Health.DescribeEvents"); n != 0 {
				t.Errorf("DescribeEvents calls = %d, want none", n)
			}
		})
	}
}

// aws-cn and aws-us-gov gates check their own partition's Regions, and
// fields CodePipeline adds to its events are read past.
func TestEventsThatAreRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, region, params string
		edit                 func(job, cfg, data map[string]any)
	}{
		{name: "aws-cn", region: "cn-north-1", params: `{"regions":["cn-north-1","cn-northwest-1"]}`},
		{name: "aws-us-gov", region: "us-gov-west-1", params: `us-gov-west-1, us-gov-east-1`},
		{name: "a new field in the job", region: "us-east-1", params: `{"regions":["us-east-1"]}`,
			edit: func(job, _, data map[string]any) {
				job["pipelineContext"] = map[string]any{"pipelineName": "web-app"}
				data["encryptionKey"] = map[string]any{"id": "k"}
			}},
		{name: "a token naming an aws-cn event", region: "cn-north-1", params: `{"regions":["cn-north-1"],"mode":"wait"}`,
			edit: func(_, _, data map[string]any) {
				data["continuationToken"] = `{"gate":"aws-health","startedAt":"2025-06-02T08:00:00Z","attempt":1,"lastEvents":["arn:aws-cn:health:cn-north-1::event/EC2/X/X_1","arn:aws-cn:health:global::event/IAM/Y/Y_1"]}`
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.h.gate.Region = tt.region
			ev := withParams(t, sample(t, "job-json-params.json"), tt.params)
			if tt.edit != nil {
				ev = edit(t, ev, tt.edit)
			}
			a := f.answer(t, ev, jsonJob)
			if !a.Success {
				t.Errorf("answer = %+v, want a pass", a)
			}
			if n := f.fake.Count("Health.DescribeEvents"); n != 1 {
				t.Errorf("DescribeEvents calls = %d, want 1", n)
			}
		})
	}
}
