package healthgate

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPlanCheck(t *testing.T) {
	now := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	job := Job{ID: "j", UserParameters: `{"regions":["us-east-1"]}`}
	withToken := job
	withToken.ContinuationToken = Token{StartedAt: now.Add(-time.Hour), Attempt: 1}.String()
	badToken := job
	badToken.ContinuationToken = "deployment-42"
	badParams := job
	badParams.UserParameters = `{"mode":"sometimes"}`
	tests := []struct {
		name       string
		in         CheckInput
		wantAsk    bool
		wantToken  bool
		wantPrefix string // of the answer's message when not asked
	}{
		{name: "a job to check", in: CheckInput{Job: job, Bounded: true, Left: 5 * time.Second}, wantAsk: true},
		{name: "no deadline: no limit", in: CheckInput{Job: job}, wantAsk: true},
		{name: "a continuation", in: CheckInput{Job: withToken, Left: MinCheckTime, Bounded: true}, wantAsk: true, wantToken: true},
		{name: "a malformed event", in: CheckInput{Job: job, DecodeErr: errors.New("no FunctionName")}, wantPrefix: InvalidEventPrefix},
		{name: "bad UserParameters", in: CheckInput{Job: badParams}, wantPrefix: InvalidPrefix},
		{name: "a bad token", in: CheckInput{Job: badToken}, wantPrefix: InvalidTokenPrefix},
		{name: "no time to check", in: CheckInput{Job: job, Bounded: true, Left: MinCheckTime - time.Millisecond, Margin: 3 * time.Second, Explicit: true}, wantPrefix: HealthErrorPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Region, tt.in.Now = "us-east-1", now
			got := PlanCheck(tt.in)
			if got.Ask != tt.wantAsk || (got.Token != nil) != tt.wantToken {
				t.Fatalf("PlanCheck(%+v) = %+v, want ask %t, token %t", tt.in, got, tt.wantAsk, tt.wantToken)
			}
			if !tt.wantAsk && (got.Answer.Success || !strings.HasPrefix(got.Answer.Message, tt.wantPrefix)) {
				t.Errorf("PlanCheck(%+v).Answer = %+v, want a failure starting %q", tt.in, got.Answer, tt.wantPrefix)
			}
		})
	}
}

func TestDelivered(t *testing.T) {
	healthy := Answer{Verdict: VerdictHealthy, Success: true, Summary: "no open issue events"}
	refused := fmt.Errorf("answer job j: %w: ValidationException", ErrAnswerRefused)
	tests := []struct {
		name                          string
		sent                          Answer
		err                           error
		wantAnswered, wantRefused, ok bool
	}{
		{name: "taken", sent: healthy, wantAnswered: true, ok: true},
		{name: "job closed", sent: healthy, err: fmt.Errorf("answer job j: %w", ErrJobClosed), ok: true},
		{name: "refused", sent: healthy, err: refused, wantRefused: true},
		{name: "refused, replaced", sent: RefusedAnswer(healthy, refused), err: fmt.Errorf("%w; %w", refused, ErrAnswerReplaced), wantAnswered: true, wantRefused: true},
		{name: "throttled", sent: healthy, err: errors.New("answer job j: ThrottlingException")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Delivered("j", healthy, tt.sent, tt.err)
			if res.Answered != tt.wantAnswered || res.Refused != tt.wantRefused || (err == nil) != tt.ok {
				t.Errorf("Delivered(%v) = %+v, %v, want answered %t, refused %t, no error %t", tt.err, res, err, tt.wantAnswered, tt.wantRefused, tt.ok)
			}
			if tt.wantRefused && res.Decided != VerdictHealthy {
				t.Errorf("Delivered(%v).Decided = %q, want the verdict refused", tt.err, res.Decided)
			}
		})
	}
}
