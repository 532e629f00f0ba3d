package main

import (
	"context"
	"fmt"
	"net/url"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// notifyResult tells people, through NOTIFY_TOPIC_ARN, when a failed stage
// starts to wait for AWS Health (its first re-check scheduled), is retried,
// or is given up on. Later re-checks, duplicates, drops and ignored events
// say nothing.
func (h *handler) notifyResult(ctx context.Context, res healthgate.RetryResult) {
	m, ok := retryMessage(h.retrier.Config.Region, res)
	if !ok {
		return
	}
	run := deadline.Start(ctx)
	defer run.Stop()
	fin, cancel := run.Finish()
	defer cancel()
	_ = h.notify.Send(fin, m) // logged by Send; the outcome stands either way
}

// retryMessage is the notification of one outcome, if it deserves one.
func retryMessage(region string, res healthgate.RetryResult) (notify.Message, bool) {
	where := fmt.Sprintf("stage %s of pipeline %s (execution %s)", res.Stage, res.Pipeline, res.ExecutionID)
	var link string // the pipeline in the console, after a blank line; none where the console is unknown
	if host := awsid.ConsoleHost(region); host != "" {
		link = fmt.Sprintf("\n\nhttps://%s/codesuite/codepipeline/pipelines/%s/view?region=%s", host, url.PathEscape(res.Pipeline), region)
	}
	var subject, body string
	switch {
	case res.Outcome == healthgate.RetryScheduled && res.Check == 1:
		subject = fmt.Sprintf("Stage retry: %s/%s waits for AWS Health", res.Pipeline, res.Stage)
		body = fmt.Sprintf("The health gate failed %s. pipeline-stage-retry will re-check AWS Health at %s and retry the failed actions once it is clear, "+
			"re-checking with back-off until MAX_RETRY_WINDOW has passed.\n\nWhy: %s\n\nWhat to do: nothing, to let it retry. "+
			"To retry now regardless, retry the stage in the console; to stop it, start a newer execution or leave the stage failed.%s\n",
			where, res.RunAt, res.Reason, link)
	case res.Outcome == healthgate.RetryRetried:
		subject = fmt.Sprintf("Stage retry: retried %s/%s", res.Pipeline, res.Stage)
		body = fmt.Sprintf("pipeline-stage-retry retried the failed actions of %s.\n\nWhy: %s\n\nWhat to do: follow the execution in the console; "+
			"if the gate fails again, it is re-checked again.%s\n", where, res.Reason, link)
	case res.Outcome == healthgate.RetryGaveUp:
		subject = fmt.Sprintf("Stage retry: gave up on %s/%s", res.Pipeline, res.Stage)
		body = fmt.Sprintf("pipeline-stage-retry gave up on %s: it is not retried automatically any more.\n\nWhy: %s\n\n"+
			"What to do: check AWS Health; retry the stage yourself when it is clear, or start a new execution.%s\n", where, res.Reason, link)
	default:
		return notify.Message{}, false
	}
	return notify.Message{Subject: subject, Body: body}, true
}
