package fakeimagebuilder

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/clock"
)

// Workflow step executions: a build's workflow pauses at a WaitForAction
// step until SendWorkflowStepAction resumes (RESUME) or stops (STOP) it, or
// until the step times out (3 days by default, 7 at most). The fake holds
// such steps, answers GetWorkflowStepExecution, ListWorkflowStepExecutions
// and SendWorkflowStepAction with the shapes of the SDK's deserializers, and
// refuses an action on a step that is no longer waiting as the API
// reference says the real service does ("the request fails if the step has
// already timed out or been actioned"): InvalidRequestException.

// Step statuses as the fake reports them. A step waiting for an action is
// WAITING (the user guide's word for it); the SDK's enum lists the others.
const (
	StepWaiting   = "WAITING"
	StepCompleted = "COMPLETED" // resumed
	StepFailed    = "FAILED"    // stopped, or timed out
)

// DefaultStepTimeout is WaitForAction's time-out when the workflow document
// sets no timeoutSeconds: 3 days (the maximum is 7).
const DefaultStepTimeout = 3 * 24 * time.Hour

// Step is one workflow step execution.
type Step struct {
	ID                  string // step-<uuid>
	WorkflowExecutionID string // wf-<uuid>
	WorkflowARN         string // arn:…:workflow/build/NAME/VERSION/BUILD
	ImageARN            string // the image build version running the workflow
	Name                string // the step's name in the workflow document
	Action              string // WaitForAction
	Status              string
	Message             string
	Started             time.Time
	TimeoutSeconds      int32 // 0: DefaultStepTimeout
	// Sent is the action the step received ("RESUME", "STOP"), Reason its
	// reason; Ended when it finished.
	Sent, Reason string
	Ended        time.Time
	tokens       map[string]string // clientToken → the request it came with
}

var (
	stepIDPattern     = regexp.MustCompile(`^step-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	imageBuildPattern = regexp.MustCompile(`^arn:aws[^:]*:imagebuilder:[^:]+:(?:[0-9]{12}|aws(?:-[a-z-]+)?):image/[a-z0-9-_]+/[0-9]+\.[0-9]+\.[0-9]+/[0-9]+$`)
)

func init() {
	ops["/GetWorkflowStepExecution"] = (*Server).getWorkflowStepExecution
	ops["/ListWorkflowStepExecutions"] = (*Server).listWorkflowStepExecutions
	ops["/SendWorkflowStepAction"] = (*Server).sendWorkflowStepAction
}

// PutStep adds or replaces a step execution; a step without a status waits.
func (s *Server) PutStep(st Step) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.Status == "" {
		st.Status = StepWaiting
	}
	if st.Action == "" {
		st.Action = "WaitForAction"
	}
	st.tokens = map[string]string{}
	s.steps[st.ID] = &st
}

// Step returns a step execution as the fake holds it now.
func (s *Server) Step(id string) (Step, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.steps[id]
	if !ok {
		return Step{}, false
	}
	s.expire(st)
	out := *st
	out.tokens = nil
	return out, true
}

func (s *Server) now() time.Time { return clock.Now(s.Now) }

// expire fails a waiting step whose time-out has passed, as Image Builder
// does. Callers hold mu.
func (s *Server) expire(st *Step) {
	timeout := time.Duration(st.TimeoutSeconds) * time.Second
	if timeout == 0 {
		timeout = DefaultStepTimeout
	}
	if st.Status == StepWaiting && !s.now().Before(st.Started.Add(timeout)) {
		st.Status, st.Ended = StepFailed, st.Started.Add(timeout)
		st.Message = "Workflow step timed out waiting for an action"
	}
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// getWorkflowStepExecution answers GET /GetWorkflowStepExecution?stepExecutionId=….
func (s *Server) getWorkflowStepExecution(r *http.Request, _ []byte) (any, *APIError) {
	if r.Method != http.MethodGet {
		return nil, &APIError{Code: "InvalidRequestException", Message: "GetWorkflowStepExecution is a GET", Status: http.StatusMethodNotAllowed}
	}
	id := r.URL.Query().Get("stepExecutionId")
	if !stepIDPattern.MatchString(id) {
		return nil, &APIError{Code: "InvalidParameterValueException", Message: fmt.Sprintf("stepExecutionId %q does not match the step ID pattern", id)}
	}
	st, ok := s.steps[id]
	if !ok {
		return nil, &APIError{Code: "ResourceNotFoundException", Message: fmt.Sprintf("The resource %s does not exist.", id), Status: http.StatusNotFound}
	}
	s.expire(st)
	out := map[string]any{
		"requestId": fmt.Sprintf("fake-%d", s.Count("")+1), "stepExecutionId": st.ID,
		"workflowExecutionId": st.WorkflowExecutionID, "workflowBuildVersionArn": st.WorkflowARN,
		"imageBuildVersionArn": st.ImageARN, "name": st.Name, "action": st.Action, "status": st.Status,
		"message": st.Message, "startTime": stamp(st.Started), "onFailure": "Abort",
		"timeoutSeconds": st.TimeoutSeconds,
	}
	if !st.Ended.IsZero() {
		out["endTime"] = stamp(st.Ended)
	}
	if st.Sent != "" {
		out["outputs"] = mustJSON(map[string]string{"action": st.Sent, "reason": st.Reason})
	}
	return out, nil
}

// listWorkflowStepExecutions answers POST /ListWorkflowStepExecutions with
// the steps of one workflow execution, maxResults a page.
func (s *Server) listWorkflowStepExecutions(r *http.Request, body []byte) (any, *APIError) {
	var in struct {
		WorkflowExecutionID string `json:"workflowExecutionId"`
		MaxResults          int    `json:"maxResults"`
		NextToken           string `json:"nextToken"`
	}
	if r.Method != http.MethodPost || json.Unmarshal(body, &in) != nil {
		return nil, &APIError{Code: "InvalidRequestException", Message: "ListWorkflowStepExecutions is a POST with a JSON body"}
	}
	var steps []*Step
	for _, st := range s.steps {
		if st.WorkflowExecutionID == in.WorkflowExecutionID {
			s.expire(st)
			steps = append(steps, st)
		}
	}
	if len(steps) == 0 {
		return nil, &APIError{Code: "ResourceNotFoundException", Message: fmt.Sprintf("The resource %s does not exist.", in.WorkflowExecutionID), Status: http.StatusNotFound}
	}
	slices.SortFunc(steps, func(a, b *Step) int { return a.Started.Compare(b.Started) })
	start, _ := strconv.Atoi(in.NextToken)
	size := in.MaxResults
	if size <= 0 || size > 100 {
		size = 100
	}
	end := min(start+size, len(steps))
	page := make([]map[string]any, 0, end-start)
	for _, st := range steps[start:end] {
		m := map[string]any{"stepExecutionId": st.ID, "name": st.Name, "action": st.Action, "status": st.Status,
			"message": st.Message, "startTime": stamp(st.Started)}
		if !st.Ended.IsZero() {
			m["endTime"] = stamp(st.Ended)
		}
		page = append(page, m)
	}
	out := map[string]any{
		"requestId": fmt.Sprintf("fake-%d", s.Count("")+1), "steps": page, "workflowExecutionId": in.WorkflowExecutionID,
		"workflowBuildVersionArn": steps[0].WorkflowARN, "imageBuildVersionArn": steps[0].ImageARN,
	}
	if end < len(steps) {
		out["nextToken"] = strconv.Itoa(end)
	}
	return out, nil
}

// sendWorkflowStepAction answers PUT /SendWorkflowStepAction. A client
// token seen before with the same request returns the first answer and
// changes nothing; with another request, IdempotentParameterMismatchException.
// A step that has timed out or received an action already is refused.
func (s *Server) sendWorkflowStepAction(r *http.Request, body []byte) (any, *APIError) {
	var in struct {
		StepExecutionID      string `json:"stepExecutionId"`
		ImageBuildVersionArn string `json:"imageBuildVersionArn"`
		Action               string `json:"action"`
		Reason               string `json:"reason"`
		ClientToken          string `json:"clientToken"`
	}
	if r.Method != http.MethodPut || json.Unmarshal(body, &in) != nil {
		return nil, &APIError{Code: "InvalidRequestException", Message: "SendWorkflowStepAction is a PUT with a JSON body"}
	}
	switch {
	case !stepIDPattern.MatchString(in.StepExecutionID):
		return nil, &APIError{Code: "InvalidParameterValueException", Message: fmt.Sprintf("stepExecutionId %q does not match the step ID pattern", in.StepExecutionID)}
	case !imageBuildPattern.MatchString(in.ImageBuildVersionArn):
		return nil, &APIError{Code: "InvalidParameterValueException", Message: fmt.Sprintf("imageBuildVersionArn %q is not an image build version ARN", in.ImageBuildVersionArn)}
	case in.Action != "RESUME" && in.Action != "STOP":
		return nil, &APIError{Code: "InvalidParameterValueException", Message: fmt.Sprintf("action %q: want RESUME or STOP", in.Action)}
	case len(in.ClientToken) < 1 || len(in.ClientToken) > 36:
		return nil, &APIError{Code: "InvalidParameterValueException", Message: "clientToken must be 1 to 36 characters"}
	case len(in.Reason) > 1024:
		return nil, &APIError{Code: "InvalidParameterValueException", Message: "reason must be at most 1024 characters"}
	}
	st, ok := s.steps[in.StepExecutionID]
	if !ok {
		return nil, &APIError{Code: "ResourceNotFoundException", Message: fmt.Sprintf("The resource %s does not exist.", in.StepExecutionID), Status: http.StatusNotFound}
	}
	answer := map[string]any{"stepExecutionId": st.ID, "imageBuildVersionArn": st.ImageARN, "clientToken": in.ClientToken}
	request := in.StepExecutionID + "\n" + in.ImageBuildVersionArn + "\n" + in.Action + "\n" + in.Reason
	if prev, ok := st.tokens[in.ClientToken]; ok {
		if prev != request {
			return nil, &APIError{Code: "IdempotentParameterMismatchException", Message: "the client token was used with other parameters"}
		}
		return answer, nil
	}
	if in.ImageBuildVersionArn != st.ImageARN {
		return nil, &APIError{Code: "InvalidParameterValueException", Message: fmt.Sprintf("the step %s does not belong to %s", st.ID, in.ImageBuildVersionArn)}
	}
	s.expire(st)
	if st.Status != StepWaiting {
		return nil, &APIError{Code: "InvalidRequestException", Message: fmt.Sprintf("The workflow step %s is not waiting for an action (status %s).", st.ID, st.Status)}
	}
	st.tokens[in.ClientToken] = request
	st.Sent, st.Reason, st.Ended = in.Action, in.Reason, s.now()
	if in.Action == "RESUME" {
		st.Status, st.Message = StepCompleted, "Resumed: "+in.Reason
	} else {
		st.Status, st.Message = StepFailed, "Stopped: "+in.Reason
	}
	return answer, nil
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
