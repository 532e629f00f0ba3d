package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// notifyResult tells people, through NOTIFY_TOPIC_ARN, when the gate failed
// a deployment, gave up waiting, or started to wait. Only an answer
// CodePipeline took is told, once: a passed check, a later wait of the same
// run, and an answer that did not go out (Lambda retries it) say nothing.
func (h *handler) notifyResult(ctx context.Context, job healthgate.Job, decided healthgate.Answer, res healthgate.GateResult) {
	m, ok := gateMessage(job, decided, res)
	if !ok {
		return
	}
	run := deadline.Start(ctx)
	defer run.Stop()
	fin, cancel := run.Finish()
	defer cancel()
	_ = h.notify.Send(fin, m) // logged by Send; the answer stands either way
}

// gateMessage is the notification of one answer, if it deserves one.
func gateMessage(job healthgate.Job, decided healthgate.Answer, res healthgate.GateResult) (notify.Message, bool) {
	var b strings.Builder
	waitedBefore := job.ContinuationToken != ""
	switch {
	case !res.Answered:
		return notify.Message{}, false
	case res.Success && res.ContinuationToken != "" && !waitedBefore:
		fmt.Fprintf(&b, "The health gate is holding a deployment until AWS Health clears (CodePipeline job %s, account %s).\n\n%s\n", job.ID, job.AccountID, res.Text)
		writeEvents(&b, decided.Events)
		b.WriteString("\nNext check: CodePipeline invokes the gate again with the continuation token, and the gate checks AWS Health each time; " +
			"it lets the deployment through once the events close, and fails the action when the action's maxWait has passed. " +
			"You are told again only if it fails.\n\n" +
			"What to do: nothing, to let it wait. To stop the deployment, stop the pipeline execution; " +
			"to deploy now regardless, remove or change the gate's UserParameters (services, regions, mode) and release a new change.\n")
		return notify.Message{Subject: "Health gate: deployment held until AWS Health clears", Body: b.String()}, true
	case res.Success:
		return notify.Message{}, false
	}

	subject := "Health gate failed a deployment"
	verb := "failed"
	if waitedBefore && res.Verdict == healthgate.VerdictBlocked {
		subject, verb = "Health gate gave up waiting and failed a deployment", "gave up waiting and failed"
	}
	fmt.Fprintf(&b, "The health gate %s CodePipeline job %s (account %s).\n\n%s\n", verb, job.ID, job.AccountID, res.Text)
	writeEvents(&b, decided.Events)
	b.WriteString("\nWhat to do: " + failureAdvice(res.Verdict) + "\n")
	return notify.Message{Subject: subject, Body: b.String()}, true
}

// writeEvents names the blocking events, each with its AWS Health page.
func writeEvents(b *strings.Builder, events []healthgate.Event) {
	if len(events) == 0 {
		return
	}
	b.WriteString("\nAWS Health events:\n")
	for i, e := range events {
		if i == 20 {
			fmt.Fprintf(b, "- and %d more\n", len(events)-i)
			break
		}
		fmt.Fprintf(b, "- %s in %s: %s (%s, since %s)\n  %s\n", e.Service, e.Region, e.TypeCode, e.Status, e.StartTime.UTC().Format("2006-01-02 15:04 UTC"), e.Link)
	}
}

// failureAdvice says what to do about each kind of failure.
func failureAdvice(v healthgate.Verdict) string {
	switch v {
	case healthgate.VerdictBlocked:
		return "follow the events above; once they close, retry the failed stage (pipeline-stage-retry does it for the pipelines opted in to it). " +
			"To deploy regardless, retry the stage after narrowing the gate's UserParameters (services, regions)."
	case healthgate.VerdictInvalid:
		return "fix what the message names (the action's UserParameters, or the job event), then retry the stage."
	case healthgate.VerdictHealthError:
		return "AWS Health could not be asked: check the function's log and its health:DescribeEvents permission (and the organizational view, if enabled), then retry the stage. " +
			"To deploy whenever AWS Health cannot be checked, set \"onHealthError\": \"pass\" in the UserParameters."
	default:
		return "the gate itself failed: read the function's log (the error and its stack are there), then retry the stage."
	}
}
