package fakehealthgate

import (
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"time"
)

// Answer is a job result the gate gave CodePipeline.
type Answer struct {
	JobID   string
	Success bool
	// Success.
	Summary           string
	ContinuationToken string
	OutputVariables   map[string]string
	// Failure.
	FailureType string
	Message     string

	ExternalExecutionID string
	At                  time.Time
}

// Answers returns every answer accepted, in order.
func (s *Server) Answers() []Answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.answers)
}

// AnswersFor returns the answers accepted for one job.
func (s *Server) AnswersFor(jobID string) []Answer {
	var out []Answer
	for _, a := range s.Answers() {
		if a.JobID == jobID {
			out = append(out, a)
		}
	}
	return out
}

// AnswerCalls returns every PutJobSuccessResult and PutJobFailureResult
// call the fake received for jobID (every such call with jobID ""), in
// order: accepted and refused alike. Answers lists only the accepted ones,
// and the fake refuses a second answer for a job, so a test that must see
// exactly one answer counts these calls.
func (s *Server) AnswerCalls(jobID string) []Call {
	var out []Call
	for _, c := range s.Calls("") {
		if c.Op != "CodePipeline.PutJobSuccessResult" && c.Op != "CodePipeline.PutJobFailureResult" {
			continue
		}
		var in struct {
			JobID string `json:"jobId"`
		}
		_ = json.Unmarshal(c.Body, &in)
		if jobID == "" || in.JobID == jobID {
			out = append(out, c)
		}
	}
	return out
}

// Pipeline is a pipeline's definition and state, as far as the gate and
// pipeline-stage-retry look at them.
type Pipeline struct {
	Name   string
	Stages []Stage
}

// Stage is a stage with its latest execution.
type Stage struct {
	Name        string
	ExecutionID string
	Status      string // InProgress, Failed, Succeeded, Stopped
	// ManualRetries counts RetryStageExecution calls on this stage.
	ManualRetries int
	Actions       []Action
}

// Action is an action with its latest execution.
type Action struct {
	Name     string
	Category string // Invoke, Deploy, Source, ...
	Provider string // Lambda, S3, ...
	// Configuration is the action's configuration (FunctionName, UserParameters).
	Configuration map[string]string
	Status        string // InProgress, Failed, Succeeded
	ErrorCode     string
	ErrorMessage  string
}

// PutPipeline sets a pipeline's definition and state.
func (s *Server) PutPipeline(p Pipeline) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := clonePipeline(p)
	s.pipelines[p.Name] = &c
}

// Pipeline returns a copy of a pipeline's definition and state.
func (s *Server) Pipeline(name string) (Pipeline, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pipelines[name]
	if !ok {
		return Pipeline{}, false
	}
	return clonePipeline(*p), true
}

func clonePipeline(p Pipeline) Pipeline {
	p.Stages = slices.Clone(p.Stages)
	for i := range p.Stages {
		p.Stages[i].Actions = slices.Clone(p.Stages[i].Actions)
		for j := range p.Stages[i].Actions {
			p.Stages[i].Actions[j].Configuration = maps.Clone(p.Stages[i].Actions[j].Configuration)
		}
	}
	return p
}

var (
	jobIDPattern    = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	variableKey     = regexp.MustCompile(`^[A-Za-z0-9@\-_]+$`)
	failureTypes    = []string{"JobFailed", "ConfigurationError", "PermissionError", "RevisionOutOfSync", "RevisionUnavailable", "SystemUnavailable"}
	executionIDLike = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

type executionDetails struct {
	ExternalExecutionID string `json:"externalExecutionId"`
	PercentComplete     *int   `json:"percentComplete"`
	Summary             string `json:"summary"`
}

type currentRevision struct {
	Revision         string   `json:"revision"`
	ChangeIdentifier string   `json:"changeIdentifier"`
	Created          *float64 `json:"created"`
	RevisionSummary  string   `json:"revisionSummary"`
}

func (s *Server) putJobSuccess(body []byte) (any, *APIError) {
	var in struct {
		JobID             string            `json:"jobId"`
		ContinuationToken *string           `json:"continuationToken"`
		CurrentRevision   *currentRevision  `json:"currentRevision"`
		ExecutionDetails  *executionDetails `json:"executionDetails"`
		OutputVariables   map[string]string `json:"outputVariables"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if err := s.checkJob(in.JobID); err != nil {
		return nil, err
	}
	a := Answer{JobID: in.JobID, Success: true, OutputVariables: in.OutputVariables, At: time.Now()}
	if in.ContinuationToken != nil {
		if n := len([]rune(*in.ContinuationToken)); n < 1 || n > 2048 {
			return nil, validation("continuationToken must have length between 1 and 2048, got %d", n)
		}
		if len(in.OutputVariables) > 0 {
			return nil, validation("outputVariables can be included only when there is no continuation token on the request")
		}
		a.ContinuationToken = *in.ContinuationToken
	}
	if d := in.ExecutionDetails; d != nil {
		if n := len([]rune(d.Summary)); d.Summary != "" && n > 2048 {
			return nil, validation("executionDetails.summary must have length between 1 and 2048, got %d", n)
		}
		if n := len(d.ExternalExecutionID); n > 1500 {
			return nil, validation("executionDetails.externalExecutionId must have length at most 1500, got %d", n)
		}
		a.Summary, a.ExternalExecutionID = d.Summary, d.ExternalExecutionID
	}
	size := 0
	for k, v := range in.OutputVariables {
		if !variableKey.MatchString(k) {
			return nil, validation("outputVariables key %q must match [A-Za-z0-9@\\-_]+", k)
		}
		size += len(k) + len(v)
	}
	if size > 122880 {
		return nil, &APIError{Code: "OutputVariablesSizeExceededException", Message: "Exceeded the total size limit for all variables in the pipeline"}
	}
	s.answers = append(s.answers, a)
	return struct{}{}, nil
}

func (s *Server) putJobFailure(body []byte) (any, *APIError) {
	var in struct {
		JobID          string `json:"jobId"`
		FailureDetails *struct {
			Type                string `json:"type"`
			Message             string `json:"message"`
			ExternalExecutionID string `json:"externalExecutionId"`
		} `json:"failureDetails"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if in.FailureDetails == nil {
		return nil, validation("failureDetails is required")
	}
	d := in.FailureDetails
	if !oneOf(d.Type, failureTypes...) {
		return nil, validation("failureDetails.type %q must be one of %v", d.Type, failureTypes)
	}
	if n := len([]rune(d.Message)); n < 1 || n > 5000 {
		return nil, validation("1 validation error detected: Value at 'failureDetails.message' failed to satisfy constraint: Member must have length between 1 and 5000, got %d", n)
	}
	if n := len(d.ExternalExecutionID); n > 1500 {
		return nil, validation("failureDetails.externalExecutionId must have length at most 1500, got %d", n)
	}
	if err := s.checkJob(in.JobID); err != nil {
		return nil, err
	}
	s.answers = append(s.answers, Answer{
		JobID: in.JobID, FailureType: d.Type, Message: d.Message, ExternalExecutionID: d.ExternalExecutionID, At: time.Now(),
	})
	return struct{}{}, nil
}

// checkJob refuses a malformed job ID, and a second answer to the same job,
// as CodePipeline does (InvalidJobStateException). Callers hold mu.
func (s *Server) checkJob(id string) *APIError {
	if !jobIDPattern.MatchString(id) {
		return validation("jobId %q must match [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", id)
	}
	for _, a := range s.answers {
		if a.JobID == id {
			return &APIError{Code: "InvalidJobStateException", Message: "The job " + id + " is not in a state that accepts a result"}
		}
	}
	return nil
}

type errorDetailsJSON struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

type actionExecutionJSON struct {
	Status           string            `json:"status"`
	LastStatusChange float64           `json:"lastStatusChange"`
	ErrorDetails     *errorDetailsJSON `json:"errorDetails,omitempty"`
}

type stageExecutionJSON struct {
	PipelineExecutionID string `json:"pipelineExecutionId"`
	Status              string `json:"status"`
}

func (s *Server) getPipelineState(body []byte) (any, *APIError) {
	var in struct {
		Name string `json:"name"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, ok := s.pipelines[in.Name]
	if !ok {
		return nil, &APIError{Code: "PipelineNotFoundException", Message: "The pipeline " + in.Name + " does not exist"}
	}
	type actionState struct {
		ActionName      string               `json:"actionName"`
		LatestExecution *actionExecutionJSON `json:"latestExecution,omitempty"`
	}
	type stageState struct {
		StageName          string              `json:"stageName"`
		LatestExecution    *stageExecutionJSON `json:"latestExecution,omitempty"`
		ActionStates       []actionState       `json:"actionStates"`
		RetryStageMetadata map[string]any      `json:"retryStageMetadata,omitempty"`
	}
	out := struct {
		PipelineName    string       `json:"pipelineName"`
		PipelineVersion int          `json:"pipelineVersion"`
		StageStates     []stageState `json:"stageStates"`
		Updated         float64      `json:"updated"`
	}{PipelineName: p.Name, PipelineVersion: 1, StageStates: []stageState{}, Updated: epoch(time.Now())}
	for _, st := range p.Stages {
		ss := stageState{StageName: st.Name, ActionStates: []actionState{}}
		if st.ExecutionID != "" {
			ss.LatestExecution = &stageExecutionJSON{PipelineExecutionID: st.ExecutionID, Status: st.Status}
		}
		if st.ManualRetries > 0 {
			ss.RetryStageMetadata = map[string]any{"manualStageRetryAttempt": st.ManualRetries, "latestRetryTrigger": "ManualStageRetry"}
		}
		for _, a := range st.Actions {
			as := actionState{ActionName: a.Name}
			if a.Status != "" {
				as.LatestExecution = &actionExecutionJSON{Status: a.Status, LastStatusChange: epoch(time.Now())}
				if a.ErrorMessage != "" {
					as.LatestExecution.ErrorDetails = &errorDetailsJSON{Code: a.ErrorCode, Message: a.ErrorMessage}
				}
			}
			ss.ActionStates = append(ss.ActionStates, as)
		}
		out.StageStates = append(out.StageStates, ss)
	}
	return out, nil
}

func (s *Server) getPipeline(body []byte) (any, *APIError) {
	var in struct {
		Name    string `json:"name"`
		Version *int   `json:"version"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	p, ok := s.pipelines[in.Name]
	if !ok {
		return nil, &APIError{Code: "PipelineNotFoundException", Message: "The pipeline " + in.Name + " does not exist"}
	}
	type actionTypeID struct {
		Category string `json:"category"`
		Owner    string `json:"owner"`
		Provider string `json:"provider"`
		Version  string `json:"version"`
	}
	type action struct {
		Name          string            `json:"name"`
		ActionTypeID  actionTypeID      `json:"actionTypeId"`
		Configuration map[string]string `json:"configuration,omitempty"`
		RunOrder      int               `json:"runOrder"`
	}
	type stage struct {
		Name    string   `json:"name"`
		Actions []action `json:"actions"`
	}
	type pipeline struct {
		Name    string  `json:"name"`
		RoleArn string  `json:"roleArn"`
		Stages  []stage `json:"stages"`
		Version int     `json:"version"`
	}
	out := struct {
		Pipeline pipeline          `json:"pipeline"`
		Metadata map[string]string `json:"metadata"`
	}{
		Pipeline: pipeline{Name: p.Name, RoleArn: "arn:aws:iam::123456789012:role/pipeline", Version: 1, Stages: []stage{}},
		Metadata: map[string]string{"pipelineArn": "arn:aws:codepipeline:us-east-1:123456789012:" + p.Name},
	}
	for _, st := range p.Stages {
		sj := stage{Name: st.Name, Actions: []action{}}
		for _, a := range st.Actions {
			sj.Actions = append(sj.Actions, action{
				Name: a.Name, RunOrder: 1, Configuration: a.Configuration,
				ActionTypeID: actionTypeID{Category: a.Category, Owner: "AWS", Provider: a.Provider, Version: "1"},
			})
		}
		out.Pipeline.Stages = append(out.Pipeline.Stages, sj)
	}
	return out, nil
}

func (s *Server) retryStage(body []byte) (any, *APIError) {
	var in struct {
		PipelineName        string `json:"pipelineName"`
		StageName           string `json:"stageName"`
		PipelineExecutionID string `json:"pipelineExecutionId"`
		RetryMode           string `json:"retryMode"`
	}
	if err := decode(body, &in); err != nil {
		return nil, err
	}
	if !oneOf(in.RetryMode, "FAILED_ACTIONS", "ALL_ACTIONS") {
		return nil, validation("retryMode %q must be FAILED_ACTIONS or ALL_ACTIONS", in.RetryMode)
	}
	if !executionIDLike.MatchString(in.PipelineExecutionID) {
		return nil, validation("pipelineExecutionId %q must be a UUID", in.PipelineExecutionID)
	}
	p, ok := s.pipelines[in.PipelineName]
	if !ok {
		return nil, &APIError{Code: "PipelineNotFoundException", Message: "The pipeline " + in.PipelineName + " does not exist"}
	}
	i := slices.IndexFunc(p.Stages, func(st Stage) bool { return st.Name == in.StageName })
	if i < 0 {
		return nil, &APIError{Code: "StageNotFoundException", Message: "The stage " + in.StageName + " does not exist"}
	}
	st := &p.Stages[i]
	switch {
	case st.ExecutionID != in.PipelineExecutionID:
		return nil, &APIError{Code: "NotLatestPipelineExecutionException", Message: "The pipeline execution " + in.PipelineExecutionID + " is not the latest one in stage " + st.Name}
	case st.Status != "Failed":
		return nil, &APIError{Code: "StageNotRetryableException", Message: "The stage " + st.Name + " is " + st.Status + ", not Failed"}
	}
	st.Status = "InProgress"
	st.ManualRetries++
	for j := range st.Actions {
		if in.RetryMode == "ALL_ACTIONS" || st.Actions[j].Status == "Failed" {
			st.Actions[j].Status, st.Actions[j].ErrorCode, st.Actions[j].ErrorMessage = "InProgress", "", ""
		}
	}
	return map[string]string{"pipelineExecutionId": in.PipelineExecutionID}, nil
}
