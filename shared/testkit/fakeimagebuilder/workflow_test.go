package fakeimagebuilder

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder/types"
	"github.com/aws/smithy-go"
)

const (
	stepID     = "step-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
	workflowID = "wf-0a1b2c3d-4e5f-6789-abcd-ef0123456789"
	workflow   = "arn:aws:imagebuilder:us-east-1:123456789012:workflow/build/approve-then-distribute/1.0.0/1"
	buildARN   = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2"
)

func waitingStep(started time.Time) Step {
	return Step{ID: stepID, WorkflowExecutionID: workflowID, WorkflowARN: workflow, ImageARN: buildARN,
		Name: "ApproveImage", Started: started, TimeoutSeconds: 3600}
}

func send(c *imagebuilder.Client, action types.WorkflowStepActionType, token string) error {
	_, err := c.SendWorkflowStepAction(context.Background(), &imagebuilder.SendWorkflowStepActionInput{
		StepExecutionId: aws.String(stepID), ImageBuildVersionArn: aws.String(buildARN), Action: action,
		Reason: aws.String("approved on the page"), ClientToken: aws.String(token),
	}, func(o *imagebuilder.Options) { o.RetryMaxAttempts = 1 })
	return err
}

func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

func TestWaitingStepResumedOnceWithTheSDK(t *testing.T) {
	s := New(t)
	started := time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return started.Add(10 * time.Minute) }
	s.PutStep(waitingStep(started))
	c := client(s, "us-east-1")

	got, err := c.GetWorkflowStepExecution(context.Background(), &imagebuilder.GetWorkflowStepExecutionInput{StepExecutionId: aws.String(stepID)})
	if err != nil {
		t.Fatalf("GetWorkflowStepExecution: %v", err)
	}
	if got.Status != StepWaiting || aws.ToString(got.ImageBuildVersionArn) != buildARN || aws.ToInt32(got.TimeoutSeconds) != 3600 ||
		aws.ToString(got.Name) != "ApproveImage" || aws.ToString(got.Action) != "WaitForAction" || aws.ToString(got.StartTime) != "2026-06-01T07:00:00.000Z" {
		t.Errorf("GetWorkflowStepExecution = status %q image %q timeout %d name %q action %q start %q", got.Status,
			aws.ToString(got.ImageBuildVersionArn), aws.ToInt32(got.TimeoutSeconds), aws.ToString(got.Name), aws.ToString(got.Action), aws.ToString(got.StartTime))
	}

	if err := send(c, types.WorkflowStepActionTypeResume, "token-1"); err != nil {
		t.Fatalf("SendWorkflowStepAction(RESUME): %v", err)
	}
	// The same token again: the first answer, nothing done twice.
	if err := send(c, types.WorkflowStepActionTypeResume, "token-1"); err != nil {
		t.Errorf("SendWorkflowStepAction(RESUME) retried with its token = %v, want the first answer", err)
	}
	// The same token with another action: a mismatch.
	if err := send(c, types.WorkflowStepActionTypeStop, "token-1"); code(err) != "IdempotentParameterMismatchException" {
		t.Errorf("SendWorkflowStepAction(STOP) with RESUME's token = %v, want IdempotentParameterMismatchException", err)
	}
	// Another token: the step is no longer waiting.
	if err := send(c, types.WorkflowStepActionTypeStop, "token-2"); code(err) != "InvalidRequestException" {
		t.Errorf("SendWorkflowStepAction(STOP) on a resumed step = %v, want InvalidRequestException", err)
	}
	st, _ := s.Step(stepID)
	if st.Status != StepCompleted || st.Sent != "RESUME" || st.Reason != "approved on the page" {
		t.Errorf("step after RESUME = %+v, want COMPLETED by RESUME", st)
	}

	list, err := c.ListWorkflowStepExecutions(context.Background(), &imagebuilder.ListWorkflowStepExecutionsInput{WorkflowExecutionId: aws.String(workflowID)})
	if err != nil || len(list.Steps) != 1 || aws.ToString(list.Steps[0].StepExecutionId) != stepID || list.Steps[0].Status != types.WorkflowStepExecutionStatusCompleted ||
		aws.ToString(list.ImageBuildVersionArn) != buildARN {
		t.Errorf("ListWorkflowStepExecutions = %+v, %v; want the one completed step", list, err)
	}
	if n, want := s.Count("SendWorkflowStepAction"), 4; n != want {
		t.Errorf("recorded SendWorkflowStepAction calls = %d, want %d", n, want)
	}
}

func TestTimedOutStepRefusesActions(t *testing.T) {
	s := New(t)
	started := time.Date(2026, 6, 1, 7, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return started.Add(time.Hour) } // the step's 3600 s are up
	s.PutStep(waitingStep(started))
	c := client(s, "us-east-1")
	if err := send(c, types.WorkflowStepActionTypeResume, "token-1"); code(err) != "InvalidRequestException" {
		t.Errorf("SendWorkflowStepAction on a timed-out step = %v, want InvalidRequestException", err)
	}
	got, err := c.GetWorkflowStepExecution(context.Background(), &imagebuilder.GetWorkflowStepExecutionInput{StepExecutionId: aws.String(stepID)})
	if err != nil || got.Status != StepFailed || aws.ToString(got.EndTime) != "2026-06-01T08:00:00.000Z" {
		t.Errorf("GetWorkflowStepExecution of a timed-out step = %+v, %v; want FAILED at the time-out", got, err)
	}
}

func TestSendWorkflowStepActionRefusesBadInput(t *testing.T) {
	s := New(t)
	s.PutStep(waitingStep(time.Now()))
	c := client(s, "us-east-1")
	tests := []struct {
		name string
		in   imagebuilder.SendWorkflowStepActionInput
		want string
	}{
		{"unknown step", imagebuilder.SendWorkflowStepActionInput{StepExecutionId: aws.String("step-00000000-0000-0000-0000-000000000000"),
			ImageBuildVersionArn: aws.String(buildARN), Action: "RESUME", ClientToken: aws.String("t")}, "ResourceNotFoundException"},
		{"another build", imagebuilder.SendWorkflowStepActionInput{StepExecutionId: aws.String(stepID),
			ImageBuildVersionArn: aws.String("arn:aws:imagebuilder:us-east-1:123456789012:image/other/1.0.0/1"), Action: "RESUME", ClientToken: aws.String("t")}, "InvalidParameterValueException"},
		{"token too long", imagebuilder.SendWorkflowStepActionInput{StepExecutionId: aws.String(stepID),
			ImageBuildVersionArn: aws.String(buildARN), Action: "RESUME", ClientToken: aws.String("0123456789012345678901234567890123456789")}, "InvalidParameterValueException"},
		{"unknown action", imagebuilder.SendWorkflowStepActionInput{StepExecutionId: aws.String(stepID),
			ImageBuildVersionArn: aws.String(buildARN), Action: "PAUSE", ClientToken: aws.String("t")}, "InvalidParameterValueException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.SendWorkflowStepAction(context.Background(), &tt.in, func(o *imagebuilder.Options) { o.RetryMaxAttempts = 1 })
			if code(err) != tt.want {
				t.Errorf("SendWorkflowStepAction = %v, want %s", err, tt.want)
			}
		})
	}
	if st, _ := s.Step(stepID); st.Status != StepWaiting {
		t.Errorf("step after refused actions = %s, want still WAITING", st.Status)
	}
}
