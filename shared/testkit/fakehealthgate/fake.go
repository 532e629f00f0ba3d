// Package fakehealthgate is a loopback stand-in for the AWS APIs the health gate
// uses that moto does not implement: AWS Health (DescribeEvents,
// DescribeEventsForOrganization and DescribeAffectedAccountsForOrganization) and CodePipeline's job and stage calls
// (PutJobSuccessResult, PutJobFailureResult, GetPipelineState, GetPipeline,
// RetryStageExecution). It speaks their JSON 1.1 protocol, so the real SDK
// clients reach it through AWS_ENDPOINT_URL_HEALTH and
// AWS_ENDPOINT_URL_CODEPIPELINE (or BaseEndpoint). It filters and pages
// events as AWS Health does, validates requests against the APIs' limits,
// records every call, and fails or stalls calls on demand.
package fakehealthgate

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/wirefake"
)

// Server is a running fake.
type Server struct {
	*wirefake.Server // URL, Close, Calls, Count

	mu        sync.Mutex
	failures  map[string][]*injected
	delays    map[string]time.Duration
	events    []Event
	pageSize  int
	pipelines map[string]*Pipeline
	answers   []Answer
	seq       int
}

// Call is one request as the fake received it; its Op is
// "Health.DescribeEvents", "CodePipeline.PutJobSuccessResult", ...
type Call = wirefake.Call

// APIError is an error the fake answers with.
type APIError = wirefake.APIError

type injected struct {
	err   APIError
	times int // <= 0: every call
}

// Start serves a fake on a free loopback port.
func Start() (*Server, error) {
	s := &Server{
		failures:  map[string][]*injected{},
		delays:    map[string]time.Duration{},
		pipelines: map[string]*Pipeline{},
	}
	var err error
	if s.Server, err = wirefake.Serve(s); err != nil {
		return nil, err
	}
	return s, nil
}

// New starts a fake for a test and stops it when the test ends.
func New(tb testing.TB) *Server { return wirefake.ForTest(tb, Start) }

// Fail makes the next times calls of op (every call, with times <= 0)
// answer with e. Injections for the same op queue up.
func (s *Server) Fail(op string, e APIError, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[op] = append(s.failures[op], &injected{err: e, times: times})
}

// Delay holds every call of op for d before answering (or until the client
// gives up), as an endpoint that does not answer.
func (s *Server) Delay(op string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[op] = d
}

// Heal removes every injected failure and delay.
func (s *Server) Heal() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = map[string][]*injected{}
	s.delays = map[string]time.Duration{}
}

// ResetCalls forgets the recorded calls and answers (not the state).
func (s *Server) ResetCalls() {
	s.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = nil
}

// targets maps the X-Amz-Target prefixes to the services' IDs.
var targets = map[string]string{
	"AWSHealth_20160804":    "Health",
	"CodePipeline_20150709": "CodePipeline",
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil || r.Method != http.MethodPost {
		wirefake.WriteJSONError(w, APIError{Code: "SerializationException", Message: "want a POST with a JSON body"})
		return
	}
	prefix, operation, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	service, ok := targets[prefix]
	if !ok {
		wirefake.WriteJSONError(w, APIError{Code: "UnknownOperationException", Message: fmt.Sprintf("the fake does not serve X-Amz-Target %q", r.Header.Get("X-Amz-Target"))})
		return
	}
	op := service + "." + operation
	if !json.Valid(body) {
		body = json.RawMessage(`null`)
	}
	call := wirefake.NewCall(r, op, body)

	s.mu.Lock()
	delay := s.delays[op]
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			call.Error = "ClientGaveUp"
			s.Add(call)
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.takeFailure(op); ok {
		call.Error = e.Code
		s.Add(call)
		wirefake.WriteJSONError(w, e)
		return
	}
	out, apiErr := s.dispatch(op, body)
	if apiErr != nil {
		call.Error = apiErr.Code
		s.Add(call)
		wirefake.WriteJSONError(w, *apiErr)
		return
	}
	s.Add(call)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

// takeFailure pops the next injected failure of op. Callers hold mu.
func (s *Server) takeFailure(op string) (APIError, bool) {
	queue := s.failures[op]
	if len(queue) == 0 {
		return APIError{}, false
	}
	inj := queue[0]
	if inj.times > 0 {
		inj.times--
		if inj.times == 0 {
			s.failures[op] = queue[1:]
		}
	}
	return inj.err, true
}

// dispatch runs op. Callers hold mu.
func (s *Server) dispatch(op string, body []byte) (any, *APIError) {
	switch op {
	case "Health.DescribeEvents":
		return s.describeEvents(body, false)
	case "Health.DescribeEventsForOrganization":
		return s.describeEvents(body, true)
	case "Health.DescribeAffectedAccountsForOrganization":
		return s.describeAffectedAccounts(body)
	case "CodePipeline.PutJobSuccessResult":
		return s.putJobSuccess(body)
	case "CodePipeline.PutJobFailureResult":
		return s.putJobFailure(body)
	case "CodePipeline.GetPipelineState":
		return s.getPipelineState(body)
	case "CodePipeline.GetPipeline":
		return s.getPipeline(body)
	case "CodePipeline.RetryStageExecution":
		return s.retryStage(body)
	}
	return nil, &APIError{Code: "UnknownOperationException", Message: "the fake does not implement " + op}
}

// decode reads a request body strictly: a field the fake does not know is
// an error, so a test can never pass on a parameter the fake ignored.
func decode(body []byte, v any) *APIError {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &APIError{Code: "SerializationException", Message: "the fake cannot read the request: " + err.Error()}
	}
	return nil
}

func validation(format string, args ...any) *APIError {
	return &APIError{Code: "ValidationException", Message: fmt.Sprintf(format, args...)}
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

var errNoSuchEvent = errors.New("no such event")

// oneOf reports whether v is one of allowed.
func oneOf(v string, allowed ...string) bool { return slices.Contains(allowed, v) }
