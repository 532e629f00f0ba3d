package healthgate

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Job is what the gate needs of a CodePipeline job event. The event also
// carries artifact credentials: they are never kept or logged.
type Job struct {
	ID                string
	AccountID         string
	UserParameters    string
	ContinuationToken string
}

// ErrNoJobID means the event names no job, so there is nobody to answer.
var ErrNoJobID = errors.New("event has no CodePipeline.job.id")

// maxJobIDLength keeps a garbage ID out of logs and API calls; CodePipeline
// job IDs are UUIDs.
const maxJobIDLength = 128

// DecodeJob reads a CodePipeline Lambda invoke event. It returns the job
// with its ID whenever the event has one, even with another error, so the
// caller can still answer (fail) the job.
func DecodeJob(raw []byte) (Job, error) {
	var ev events.CodePipelineJobEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		// A malformed event may still name its job: answer it if so.
		var idOnly struct {
			Job struct {
				ID string `json:"id"`
			} `json:"CodePipeline.job"`
		}
		_ = json.Unmarshal(raw, &idOnly)
		job := Job{ID: strings.TrimSpace(idOnly.Job.ID)}
		if !validJobID(job.ID) {
			job.ID = ""
		}
		return job, fmt.Errorf("decode CodePipeline job event: %w", err)
	}
	j := ev.CodePipelineJob
	job := Job{
		ID:                strings.TrimSpace(j.ID),
		AccountID:         j.AccountID,
		UserParameters:    j.Data.ActionConfiguration.Configuration.UserParameters,
		ContinuationToken: j.Data.ContinuationToken,
	}
	if !validJobID(job.ID) {
		job.ID = ""
		return job, ErrNoJobID
	}
	if j.Data.ActionConfiguration.Configuration.FunctionName == "" {
		// CodePipeline names the function of every Lambda invoke action.
		return job, errors.New("the job has no data.actionConfiguration.configuration.FunctionName: not a job of a Lambda invoke action as CodePipeline sends it")
	}
	return job, nil
}

func validJobID(id string) bool {
	if id == "" || len(id) > maxJobIDLength {
		return false
	}
	for _, r := range id {
		if r <= ' ' || r > '~' {
			return false
		}
	}
	return true
}

// Token is the gate's continuation token: when it first found the pipeline
// blocked, and how many checks it has made since. CodePipeline hands it back
// on the next invocation of the same action.
type Token struct {
	StartedAt time.Time
	Attempt   int
	// LastEvents are the ARNs of the events the last successful check
	// found open (as many as fit), so that a check that cannot ask AWS
	// Health can still name them.
	LastEvents []string
}

// tokenJSON is the token on the wire: readable in the console, far below
// CodePipeline's 2048-character limit.
type tokenJSON struct {
	Gate      string `json:"gate"`
	StartedAt string `json:"startedAt"`
	Attempt   int    `json:"attempt"`
	// LastEvents is omitted when empty: a token without it has no events.
	LastEvents []string `json:"lastEvents,omitempty"`
}

const tokenGate = "aws-health"

// MaxTokenLength is CodePipeline's limit on a continuation token.
const MaxTokenLength = 2048

// String writes the token, keeping as many of LastEvents as fit in
// MaxTokenLength.
func (t Token) String() string {
	tj := tokenJSON{Gate: tokenGate, StartedAt: t.StartedAt.UTC().Format(time.RFC3339), Attempt: t.Attempt, LastEvents: t.LastEvents}
	for {
		b, _ := json.Marshal(tj)
		if len(b) <= MaxTokenLength || len(tj.LastEvents) == 0 {
			return string(b)
		}
		tj.LastEvents = tj.LastEvents[:len(tj.LastEvents)-1]
	}
}

// tokenErrPrefix starts every ParseToken error.
const tokenErrPrefix = "continuation token: "

// ParseToken reads a continuation token the gate wrote. now bounds the
// start time: a token from the future is not one of ours.
func ParseToken(s string, now time.Time) (Token, error) {
	if len(s) > MaxTokenLength {
		return Token{}, fmt.Errorf(tokenErrPrefix+"%d characters, more than %d", len(s), MaxTokenLength)
	}
	var tj tokenJSON
	if err := json.Unmarshal([]byte(s), &tj); err != nil || tj.Gate != tokenGate {
		return Token{}, fmt.Errorf(tokenErrPrefix+"%q is not the health gate's", awsid.Clip(s, 64))
	}
	started, err := time.Parse(time.RFC3339, tj.StartedAt)
	if err != nil {
		return Token{}, fmt.Errorf(tokenErrPrefix+"startedAt %q is not an RFC 3339 time", awsid.Clip(tj.StartedAt, 64))
	}
	if started.After(now.Add(5 * time.Minute)) {
		return Token{}, fmt.Errorf(tokenErrPrefix+"startedAt %s is in the future", started.Format(time.RFC3339))
	}
	if tj.Attempt < 1 || tj.Attempt > 1_000_000 {
		return Token{}, fmt.Errorf(tokenErrPrefix+"attempt %d is out of range", tj.Attempt)
	}
	for _, s := range tj.LastEvents {
		a, err := arn.Parse(s)
		if err != nil || len(s) > 1600 || a.Service != "health" || !strings.HasPrefix(a.Resource, "event/") {
			return Token{}, fmt.Errorf(tokenErrPrefix+"lastEvents holds %q, not an AWS Health event ARN", awsid.Clip(s, 64))
		}
		if err := awsid.CheckPartition(a); err != nil {
			return Token{}, fmt.Errorf(tokenErrPrefix+"lastEvents holds %q: %v", awsid.Clip(s, 64), err)
		}
	}
	return Token{StartedAt: started.UTC(), Attempt: tj.Attempt, LastEvents: tj.LastEvents}, nil
}
