package healthgate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/smithy-go"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// ErrJobClosed means CodePipeline no longer takes an answer for the job
// (answered already, timed out, or unknown): retrying cannot help.
var ErrJobClosed = errors.New("job no longer takes an answer")

// ErrAnswerRefused means CodePipeline refused the answer for good (a
// ValidationException or another client error): sending it again, which
// is what a Lambda retry of the invocation would do, cannot help.
var ErrAnswerRefused = errors.New("CodePipeline refused the answer")

// ErrAnswerReplaced comes with ErrAnswerRefused when the refused answer was
// a success and the failure sent in its place was taken: the job is
// answered (failed), but not with the gate's answer.
var ErrAnswerReplaced = errors.New("the job was failed instead")

// Send gives CodePipeline the answer for jobID and returns the answer it
// actually gave. externalID ties the action's run to the invocation that
// answered it (the Lambda request ID).
//
// It makes one API call, except when CodePipeline refuses a success for
// good (a ValidationException, or another client error that is neither
// throttling nor ErrJobClosed): then it sends one short failure saying so
// instead, so the job does not hang until CodePipeline times it out.
//
// The error wraps ErrJobClosed or ErrAnswerRefused when a retry cannot
// help, and names the job. A refusal is an error even when the failure
// sent instead was taken (then it wraps ErrAnswerReplaced too, and Send
// returns that failure): the gate's own answer did not reach CodePipeline,
// which whoever runs the gate must hear of.
func Send(ctx context.Context, api JobAPI, jobID, externalID string, a Answer) (Answer, error) {
	if !a.Success {
		return a, sendFailure(ctx, api, jobID, externalID, a)
	}
	err := sendSuccess(ctx, api, jobID, externalID, a)
	// Only a success refused for good gets the fallback. (An error wraps
	// at most one of ErrJobClosed and ErrAnswerRefused: see classify.)
	if !errors.Is(err, ErrAnswerRefused) {
		return a, err
	}
	fallback := RefusedAnswer(a, err)
	if ferr := sendFailure(ctx, api, jobID, externalID, fallback); ferr != nil {
		return a, fmt.Errorf("%w; the failure sent instead: %w", err, ferr)
	}
	return fallback, fmt.Errorf("%w; %w", err, ErrAnswerReplaced)
}

// RefusedAnswer is the failure sent in place of success a that
// CodePipeline refused with err: short, so it cannot be refused in turn.
func RefusedAnswer(success Answer, err error) Answer {
	return Answer{
		Verdict: VerdictInternal, FailureType: types.FailureTypeJobFailed, Events: success.Events,
		Message: awsid.Clip(fmt.Sprintf("%s: CodePipeline refused its answer (%s). The gate had decided: %s. Retry the stage; if it happens again, the function's log has the details.",
			InternalPrefix, awsid.Clip(refusal(err), 600), awsid.Clip(success.Summary, 1200)), MaxMessageLength),
	}
}

func sendSuccess(ctx context.Context, api JobAPI, jobID, externalID string, a Answer) error {
	in := &codepipeline.PutJobSuccessResultInput{
		JobId: aws.String(jobID),
		ExecutionDetails: &types.ExecutionDetails{
			Summary:             nonEmpty(awsid.Clip(a.Summary, MaxSummaryLength)),
			ExternalExecutionId: nonEmpty(externalID),
		},
	}
	if a.ContinuationToken != "" {
		in.ContinuationToken = aws.String(a.ContinuationToken)
	} else {
		in.OutputVariables = a.OutputVariables
	}
	_, err := api.PutJobSuccessResult(ctx, in)
	return classify(jobID, err)
}

func sendFailure(ctx context.Context, api JobAPI, jobID, externalID string, a Answer) error {
	msg := a.Message
	if msg == "" {
		msg = InternalPrefix // the API needs a message
	}
	_, err := api.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
		JobId: aws.String(jobID),
		FailureDetails: &types.FailureDetails{
			Type:                a.FailureType,
			Message:             aws.String(awsid.Clip(msg, MaxMessageLength)),
			ExternalExecutionId: nonEmpty(externalID),
		},
	})
	return classify(jobID, err)
}

// classify marks the errors a retry cannot help: the job is closed, or
// CodePipeline refused the request itself (a client error other than
// throttling).
func classify(jobID string, err error) error {
	if err == nil {
		return nil
	}
	var invalidState *types.InvalidJobStateException
	var notFound *types.JobNotFoundException
	var apiErr smithy.APIError
	var respErr *awshttp.ResponseError
	switch {
	case errors.As(err, &invalidState), errors.As(err, &notFound):
		err = fmt.Errorf("%w: %w", ErrJobClosed, err)
	case errors.As(err, &apiErr) && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool():
		// Throttled after the SDK's retries: a later try can pass.
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 400 && respErr.HTTPStatusCode() < 500 && respErr.HTTPStatusCode() != 429,
		errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultClient:
		err = fmt.Errorf("%w: %w", ErrAnswerRefused, err)
	}
	return fmt.Errorf("answer job %s: %w", jobID, err)
}

// refusal names what CodePipeline refused, for the fallback message.
func refusal(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode() + ": " + apiErr.ErrorMessage()
	}
	return err.Error()
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
