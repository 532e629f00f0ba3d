package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakehealthgate"
	"github.com/ebs-ops/lambda-suite/shared/testkit/notifytest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestGateNotifies(t *testing.T) {
	t.Parallel()
	start := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	firstWait := func(t *testing.T) []byte {
		return edit(t, sample(t, "job-continuation.json"), func(_, _, data map[string]any) { delete(data, "continuationToken") })
	}
	tests := []struct {
		name    string
		now     time.Time
		event   *fakehealthgate.Event
		payload func(t *testing.T) []byte
		jobID   string
		subject string   // empty: no message
		body    []string // in the body
	}{
		{name: "fails a deployment", event: &fakehealthgate.Event{Service: "EC2", Region: "us-east-1"},
			payload: func(t *testing.T) []byte { return sample(t, "job-json-params.json") }, jobID: jsonJob,
			subject: "Health gate failed a deployment",
			body:    []string{jsonJob, "Blocked by AWS Health", "https://health.aws.amazon.com/health/home#/account/event-log?eventID=arn:aws:health:", "What to do: follow the events above"}},
		{name: "starts to wait", now: start, event: &fakehealthgate.Event{Service: "EC2", Region: "us-east-1"},
			payload: firstWait, jobID: continuationJob,
			subject: "Health gate: deployment held until AWS Health clears",
			body:    []string{continuationJob, "Next check: CodePipeline invokes the gate again", "maxWait", "https://health.aws.amazon.com/", "What to do: nothing, to let it wait"}},
		{name: "keeps waiting: told once", now: start.Add(20 * time.Minute), event: &fakehealthgate.Event{Service: "RDS", Region: "us-east-1"},
			payload: func(t *testing.T) []byte { return sample(t, "job-continuation.json") }, jobID: continuationJob},
		{name: "gives up", now: time.Date(2025, 6, 2, 10, 0, 1, 0, time.UTC), event: &fakehealthgate.Event{Service: "RDS", Region: "us-east-1"},
			payload: func(t *testing.T) []byte { return sample(t, "job-continuation.json") }, jobID: continuationJob,
			subject: "Health gate gave up waiting and failed a deployment",
			body:    []string{"after waiting 2h0m1s", "https://health.aws.amazon.com/", "What to do:"}},
		{name: "invalid UserParameters", payload: func(t *testing.T) []byte {
			return withParams(t, sample(t, "job-json-params.json"), `{"mode":"later"}`)
		}, jobID: jsonJob,
			subject: "Health gate failed a deployment", body: []string{"Invalid UserParameters", "What to do: fix what the message names"}},
		{name: "passes: nothing to tell", payload: func(t *testing.T) []byte { return sample(t, "job-json-params.json") }, jobID: jsonJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if !tt.now.IsZero() {
				f.h.gate.Now = func() time.Time { return tt.now }
			}
			if tt.event != nil {
				f.fake.AddEvent(*tt.event)
			}
			inbox := f.notifier(t)
			f.answer(t, tt.payload(t), tt.jobID)
			if tt.subject == "" {
				notifytest.CheckNone(t, inbox)
				return
			}
			notifytest.CheckOne(t, inbox, tt.subject, tt.body...)
		})
	}
}

func TestGateConfigTopic(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		topic string
		ok    bool
	}{{"", true}, {"arn:aws:sns:us-east-1:123456789012:gate", true}, {"gate", false}, {"arn:aws:sqs:us-east-1:123456789012:gate", false}} {
		_, err := loadConfig(func(k string) (string, bool) {
			v, ok := map[string]string{"AWS_REGION": "us-east-1", "NOTIFY_TOPIC_ARN": tt.topic}[k]
			return v, ok
		})
		if (err == nil) != tt.ok || (err != nil && !strings.Contains(err.Error(), "NOTIFY_TOPIC_ARN")) {
			t.Errorf("loadConfig(NOTIFY_TOPIC_ARN=%q) = %v, want ok %t", tt.topic, err, tt.ok)
		}
	}
}
