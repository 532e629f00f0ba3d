package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Workflow mode: an Image Builder workflow pauses the build at a
// WaitForAction step, and Image Builder sends the EventBridge event "EC2
// Image Builder Workflow Step Waiting". The request is bound to that step:
// Approve resumes it (SendWorkflowStepAction RESUME), Reject stops it
// (STOP), and the workflow's own distribution step shares the AMIs. The
// functions share nothing themselves in this mode.

// The EventBridge event's source and detail type.
const (
	StepWaitingSource     = "aws.imagebuilder"
	StepWaitingDetailType = "EC2 Image Builder Workflow Step Waiting" // #nosec G101 -- an EventBridge detail type, not a credential
)

// DefaultStepTimeout and MaxStepTimeout are WaitForAction's time-outs: the
// default when the workflow document sets no timeoutSeconds, and the most
// it may set.
const (
	DefaultStepTimeout = 3 * 24 * time.Hour
	MaxStepTimeout     = 7 * 24 * time.Hour
)

// Outcomes of a step-bound request, stored and shown like the Outcome*
// constants of the SNS flow.
const (
	OutcomeSending  = "sending"   // decided; the action is being sent to Image Builder
	OutcomeResumed  = "resumed"   // approved; the step was resumed
	OutcomeStopped  = "stopped"   // rejected; the step was stopped
	OutcomeTimedOut = "timed-out" // the step had timed out: nothing sent
	OutcomeClosed   = "closed"    // the step had been resumed or stopped elsewhere: nothing sent
)

// ErrNotStepWaiting: the event is not Image Builder's step-waiting event.
var ErrNotStepWaiting = errors.New("not an Image Builder workflow step waiting event")

// StepWaiting is the waiting-step event as Image Builder sends it. Its
// detail names the step; its resources name the build and the workflow.
// It carries no time-out and no message: those come from Image Builder
// (GetWorkflowStepExecution), which is the truth here as GetImage is in the
// SNS flow.
type StepWaiting struct {
	StepExecutionID     string
	WorkflowExecutionID string
	StepName            string
	ImageARN            string // the image build version paused at the step
	WorkflowARN         string
	Region              string
	Account             string
}

type stepWaitingDetail struct {
	WorkflowExecutionID string `json:"workflow-execution-id"`
	StepExecutionID     string `json:"workflow-step-execution-id"`
	StepName            string `json:"workflow-step-name"`
}

// ParseStepWaiting reads the waiting-step event. An event of another kind,
// or one whose IDs are not of their documented shapes, is refused with the
// reason.
func ParseStepWaiting(ev events.EventBridgeEvent) (StepWaiting, error) {
	if ev.Source != StepWaitingSource || ev.DetailType != StepWaitingDetailType {
		return StepWaiting{}, fmt.Errorf("%w: source %q, detail-type %q", ErrNotStepWaiting, awsid.Clip(ev.Source, 40), awsid.Clip(ev.DetailType, 80))
	}
	var d stepWaitingDetail
	if err := json.Unmarshal(ev.Detail, &d); err != nil {
		return StepWaiting{}, fmt.Errorf("%w: detail: %v", ErrNotStepWaiting, err)
	}
	s := StepWaiting{StepExecutionID: d.StepExecutionID, WorkflowExecutionID: d.WorkflowExecutionID, StepName: d.StepName,
		Region: ev.Region, Account: ev.AccountID}
	var problems []string
	if !awsid.IsWorkflowStepExecutionID(s.StepExecutionID) {
		problems = append(problems, fmt.Sprintf("workflow-step-execution-id %q is not step-<UUID>", awsid.Clip(s.StepExecutionID, 60)))
	}
	if !awsid.IsWorkflowExecutionID(s.WorkflowExecutionID) {
		problems = append(problems, fmt.Sprintf("workflow-execution-id %q is not wf-<UUID>", awsid.Clip(s.WorkflowExecutionID, 60)))
	}
	if !awsid.IsWorkflowStepName(s.StepName) {
		problems = append(problems, fmt.Sprintf("workflow-step-name %q is not a step name", awsid.Clip(s.StepName, 60)))
	}
	for _, r := range ev.Resources {
		if im, err := awsid.ParseImageBuildVersionARN(r); err == nil && s.ImageARN == "" {
			s.ImageARN = r
			if s.Region == "" {
				s.Region = im.Region
			}
		} else if awsid.IsImageBuilderWorkflowARN(r) && s.WorkflowARN == "" {
			s.WorkflowARN = r
		}
	}
	if s.ImageARN == "" {
		problems = append(problems, "resources name no image build version ARN")
	}
	if !awsid.IsRegion(s.Region) {
		problems = append(problems, fmt.Sprintf("region %q is not a Region", awsid.Clip(s.Region, 30)))
	}
	if len(problems) > 0 {
		return StepWaiting{}, fmt.Errorf("%w: %s", ErrNotStepWaiting, strings.Join(problems, "; "))
	}
	return s, nil
}

// StepState is what Image Builder says of a step execution now.
type StepState struct {
	Found      bool
	ImageARN   string
	Name       string
	Action     string // WaitForAction
	Status     string
	Message    string
	Started    time.Time
	Ended      time.Time
	TimesOutAt time.Time // Started + timeoutSeconds (DefaultStepTimeout when unset)
}

// Waiting says whether the step still waits for an action. The user guide
// calls the state WAITING; the SDK's enum has no such value and lists a
// running step as RUNNING, so both count.
func (s StepState) Waiting() bool { return s.Status == "WAITING" || s.Status == "RUNNING" }

// TimedOut says whether a step no longer waiting ended by its time-out
// rather than by an action, at now.
func (s StepState) TimedOut(now time.Time) bool {
	if s.Waiting() {
		return false
	}
	if strings.Contains(strings.ToLower(s.Message), "timed out") || strings.Contains(strings.ToLower(s.Message), "timeout") {
		return true
	}
	end := s.Ended
	if end.IsZero() {
		end = now
	}
	return s.Status == "FAILED" && !s.TimesOutAt.IsZero() && !end.Before(s.TimesOutAt)
}

// getStep asks Image Builder, in region, for a step execution. A step it
// does not know is a StepState without Found.
func getStep(ctx context.Context, steps *Regional[BuildAPI], region, id string) (StepState, error) {
	out, err := steps.In(region).GetWorkflowStepExecution(ctx, &imagebuilder.GetWorkflowStepExecutionInput{StepExecutionId: aws.String(id)})
	if hasCode(err, "ResourceNotFoundException") {
		return StepState{}, nil
	}
	if err != nil {
		return StepState{}, fmt.Errorf("ask Image Builder for step %s: %w", id, err)
	}
	st := StepState{
		Found: true, ImageARN: aws.ToString(out.ImageBuildVersionArn), Name: aws.ToString(out.Name), Action: aws.ToString(out.Action),
		Status: string(out.Status), Message: aws.ToString(out.Message),
		Started: parseCreated(aws.ToString(out.StartTime)), Ended: parseCreated(aws.ToString(out.EndTime)),
	}
	timeout := time.Duration(aws.ToInt32(out.TimeoutSeconds)) * time.Second
	if timeout <= 0 {
		timeout = DefaultStepTimeout
	}
	if !st.Started.IsZero() {
		st.TimesOutAt = st.Started.Add(min(timeout, MaxStepTimeout))
	}
	return st, nil
}
