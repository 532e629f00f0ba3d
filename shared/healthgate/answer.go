package healthgate

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

// ErrJobClosed means CodePipeline no longer takes an answer for the job
// (answered already, timed out, or unknown): retrying cannot help.
var ErrJobClosed = errors.New("job no longer takes an answer")

// Send gives CodePipeline the answer for jobID, with one API call.
// externalID ties the action's run to the invocation that answered it
// (the Lambda request ID).
func Send(ctx context.Context, api JobAPI, jobID, externalID string, a Answer) error {
	var err error
	if a.Success {
		in := &codepipeline.PutJobSuccessResultInput{
			JobId: aws.String(jobID),
			ExecutionDetails: &types.ExecutionDetails{
				Summary:             nonEmpty(clipTo(a.Summary, MaxSummaryLength)),
				ExternalExecutionId: nonEmpty(externalID),
			},
		}
		if a.ContinuationToken != "" {
			in.ContinuationToken = aws.String(a.ContinuationToken)
		} else {
			in.OutputVariables = a.OutputVariables
		}
		_, err = api.PutJobSuccessResult(ctx, in)
	} else {
		msg := a.Message
		if msg == "" {
			msg = InternalPrefix // the API needs a message
		}
		_, err = api.PutJobFailureResult(ctx, &codepipeline.PutJobFailureResultInput{
			JobId: aws.String(jobID),
			FailureDetails: &types.FailureDetails{
				Type:                a.FailureType,
				Message:             aws.String(clipTo(msg, MaxMessageLength)),
				ExternalExecutionId: nonEmpty(externalID),
			},
		})
	}
	if err != nil {
		var invalidState *types.InvalidJobStateException
		var notFound *types.JobNotFoundException
		if errors.As(err, &invalidState) || errors.As(err, &notFound) {
			err = fmt.Errorf("%w: %w", ErrJobClosed, err)
		}
		return fmt.Errorf("answer job %s: %w", jobID, err)
	}
	return nil
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}
