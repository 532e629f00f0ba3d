package healthgate

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Verdict names the gate's decision, for logs and results.
type Verdict string

const (
	VerdictHealthy Verdict = "healthy"
	VerdictBlocked Verdict = "blocked"
	VerdictWaiting Verdict = "waiting"
	// VerdictInvalid: the UserParameters, the event or the token are wrong
	// (the message's prefix says which).
	VerdictInvalid Verdict = "invalid"
	// VerdictHealthError: AWS Health could not be asked; the job fails.
	VerdictHealthError Verdict = "healthError"
	// VerdictPassedOnHealthError: the same, and onHealthError is "pass".
	VerdictPassedOnHealthError Verdict = "passedOnHealthError"
	// VerdictInternal: the gate itself failed (a panic).
	VerdictInternal Verdict = "internalError"
)

// The first words of each kind of failure message. pipeline-stage-retry
// retries only stages that BlockedPrefix failed: a configuration error or
// a broken Health API does not fix itself.
const (
	BlockedPrefix = "Blocked by AWS Health"
	InvalidPrefix = "Invalid UserParameters"
	// InvalidTokenPrefix and InvalidEventPrefix start the failures of a
	// job whose continuation token or event is wrong, not its
	// configuration.
	InvalidTokenPrefix = "Invalid continuation token"
	InvalidEventPrefix = "Invalid CodePipeline job event"
	HealthErrorPrefix  = "AWS Health could not be checked"
	InternalPrefix     = "The health gate failed"
)

// CodePipeline's limits on what a job answer carries.
const (
	MaxMessageLength = 5000 // FailureDetails.message
	MaxSummaryLength = 2048 // ExecutionDetails.summary
)

// Answer is what the gate tells CodePipeline about one job: a success
// (possibly with a continuation token) or a failure.
type Answer struct {
	Verdict Verdict
	Success bool
	// Success: Summary shows in the console; OutputVariables are for later
	// actions (only without a continuation token, as CodePipeline requires).
	Summary           string
	ContinuationToken string
	OutputVariables   map[string]string
	// Failure.
	FailureType types.FailureType
	Message     string
	// Events are the blocking events, for the log.
	Events []Event
}

// Decide turns one check into the answer: healthy passes; blocked fails
// (mode fail) or keeps waiting with a continuation token until p.MaxWait
// has passed since tok.StartedAt (mode wait); a Health error fails or
// passes as p.OnHealthError says. tok is nil on the first invocation.
//
// A Health error while already waiting (tok is not nil: an earlier check
// of this run found the pipeline blocked) neither passes nor ends the wait
// early, whatever onHealthError says: the gate keeps waiting until maxWait
// and then fails naming the events the last successful check found and
// the error.
func Decide(p Params, tok *Token, now time.Time, events []Event, healthErr error) Answer {
	if healthErr != nil && tok != nil {
		return waitThroughHealthError(p, *tok, now, healthErr)
	}
	if healthErr != nil {
		what := DescribeHealthError(healthErr)
		if p.OnHealthError == OnHealthErrorPass {
			return Answer{
				Verdict: VerdictPassedOnHealthError, Success: true,
				Summary: awsid.Clip(fmt.Sprintf("%s, passed because onHealthError is \"pass\": %s", HealthErrorPrefix, what), MaxSummaryLength),
				OutputVariables: map[string]string{
					"healthy": "unknown", "checkedRegions": strings.Join(p.CheckedRegions(), ","), "checkedAt": now.UTC().Format(time.RFC3339),
				},
			}
		}
		return Answer{
			Verdict: VerdictHealthError, FailureType: types.FailureTypeJobFailed,
			Message: awsid.Clip(fmt.Sprintf("%s: %s. To deploy anyway whenever AWS Health cannot be checked, set \"onHealthError\": \"pass\" in the action's UserParameters.", HealthErrorPrefix, what), MaxMessageLength),
		}
	}

	if len(events) == 0 {
		summary := fmt.Sprintf("AWS Health: %s.", openEvents(0, p))
		if tok != nil {
			summary += fmt.Sprintf(" Cleared after waiting %s (%d checks).", now.Sub(tok.StartedAt).Round(time.Second), tok.Attempt+1)
		}
		return Answer{
			Verdict: VerdictHealthy, Success: true, Summary: awsid.Clip(summary, MaxSummaryLength),
			OutputVariables: map[string]string{
				"healthy": "true", "checkedRegions": strings.Join(p.CheckedRegions(), ","), "checkedAt": now.UTC().Format(time.RFC3339),
			},
		}
	}

	if p.Mode == ModeWait {
		next := Token{StartedAt: now.UTC(), Attempt: 1, LastEvents: arns(events)}
		if tok != nil {
			next = Token{StartedAt: tok.StartedAt, Attempt: tok.Attempt + 1, LastEvents: arns(events)}
		}
		waited := now.Sub(next.StartedAt)
		if waited < p.MaxWait {
			return Answer{
				Verdict: VerdictWaiting, Success: true, ContinuationToken: next.String(), Events: events,
				Summary: awsid.Clip(fmt.Sprintf("Waiting for AWS Health: %s (check %d, waited %s of maxWait %s). First: %s",
					openEvents(len(events), p), next.Attempt, waited.Round(time.Second), p.MaxWait, eventLine(events[0])), MaxSummaryLength),
			}
		}
		head := fmt.Sprintf("%s after waiting %s (%d checks, maxWait %s): %s.",
			BlockedPrefix, waited.Round(time.Second), next.Attempt, p.MaxWait, openEvents(len(events), p))
		return blockedAnswer(head, events)
	}
	return blockedAnswer(fmt.Sprintf("%s: %s.", BlockedPrefix, openEvents(len(events), p)), events)
}

// waitThroughHealthError answers a check that could not ask AWS Health
// while the gate was waiting: wait on until maxWait, then fail.
func waitThroughHealthError(p Params, tok Token, now time.Time, healthErr error) Answer {
	what := DescribeHealthError(healthErr)
	next := Token{StartedAt: tok.StartedAt, Attempt: tok.Attempt + 1, LastEvents: tok.LastEvents}
	waited := now.Sub(next.StartedAt)
	last := "no events recorded"
	if len(tok.LastEvents) > 0 {
		last = strings.Join(tok.LastEvents, ", ")
	}
	if waited < p.MaxWait {
		return Answer{
			Verdict: VerdictWaiting, Success: true, ContinuationToken: next.String(),
			Summary: awsid.Clip(fmt.Sprintf("Waiting for AWS Health (check %d, waited %s of maxWait %s): %s: %s. Still waiting on the events the last check found open: %s",
				next.Attempt, waited.Round(time.Second), p.MaxWait, HealthErrorPrefix, what, last), MaxSummaryLength),
		}
	}
	head := fmt.Sprintf("%s after waiting %s (%d checks, maxWait %s): the last check failed, %s: %s. The events the last successful check found open:",
		BlockedPrefix, waited.Round(time.Second), next.Attempt, p.MaxWait, HealthErrorPrefix, what)
	lines := make([]string, len(tok.LastEvents))
	for i, arn := range tok.LastEvents {
		lines[i] = "- " + arn
	}
	if len(lines) == 0 {
		lines = []string{"- (none recorded)"}
	}
	tail := "The deployment did not start. Retry the stage once these events are closed and AWS Health answers again; pipeline-stage-retry does it for opted-in pipelines."
	return Answer{
		Verdict: VerdictBlocked, FailureType: types.FailureTypeJobFailed,
		Message: fitMessage(head, lines, tail, MaxMessageLength),
	}
}

// NoTimeAnswer fails a job the gate had no time to check: the time left
// before the Lambda deadline, less margin, is under need. explicit says
// whether the margin is DEADLINE_MARGIN's or the one that scales with the
// time given. A timeout too short must never pass a deployment unchecked.
func NoTimeAnswer(left, margin, need time.Duration, explicit bool) Answer {
	left = max(left, 0).Round(time.Millisecond)
	msg := fmt.Sprintf("%s: the gate's DEADLINE_MARGIN %s leaves %s before the Lambda deadline for the check, less than the %s it needs, so it did not ask. "+
		"Raise the function's timeout or lower DEADLINE_MARGIN.", HealthErrorPrefix, margin, left, need)
	if !explicit {
		msg = fmt.Sprintf("%s: the function's timeout is too short: keeping %s before the Lambda deadline to answer (a fifth of the time left, at most 30s) leaves %s for the check, less than the %s it needs, so it did not ask. "+
			"Raise the function's timeout (3s, SAM's default, is enough).", HealthErrorPrefix, margin.Round(time.Millisecond), left, need)
	}
	return Answer{Verdict: VerdictHealthError, FailureType: types.FailureTypeConfigurationError, Message: msg}
}

func arns(events []Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.ARN
	}
	return out
}

func blockedAnswer(head string, events []Event) Answer {
	lines := make([]string, len(events))
	for i, e := range events {
		lines[i] = "- " + eventLine(e)
	}
	tail := "The deployment did not start. Retry the stage once these events are closed (the AWS Health Dashboard shows them); pipeline-stage-retry does it for opted-in pipelines."
	return Answer{
		Verdict: VerdictBlocked, FailureType: types.FailureTypeJobFailed, Events: events,
		Message: fitMessage(head, lines, tail, MaxMessageLength),
	}
}

// InvalidAnswer fails a job whose UserParameters are wrong, with the
// problem in the message.
func InvalidAnswer(err error) Answer {
	// ParseParams's errors start with ErrInvalidParams; the prefix says it.
	msg := strings.TrimPrefix(strings.ReplaceAll(err.Error(), "\n", "; "), ErrInvalidParams.Error()+": ")
	return Answer{
		Verdict: VerdictInvalid, FailureType: types.FailureTypeConfigurationError,
		Message: awsid.Clip(fmt.Sprintf("%s (fix the action's configuration): %s", InvalidPrefix, msg), MaxMessageLength),
	}
}

// InvalidTokenAnswer fails a job whose continuation token (ParseToken's
// err) the gate cannot continue from. CodePipeline hands back whatever the
// last answer carried, so the cure is a fresh run of the action, not a
// change to its configuration, which is not at fault.
func InvalidTokenAnswer(err error) Answer {
	msg := strings.TrimPrefix(err.Error(), tokenErrPrefix)
	return Answer{
		Verdict: VerdictInvalid, FailureType: types.FailureTypeJobFailed,
		Message: awsid.Clip(fmt.Sprintf("%s: %s. CodePipeline handed back a continuation token this gate did not write or cannot continue from; the action's UserParameters are not at fault. "+
			"Retry the stage: a new run of the action starts without a token and checks AWS Health afresh.", InvalidTokenPrefix, msg), MaxMessageLength),
	}
}

// InvalidEventAnswer fails a job whose event names the job but cannot be
// read (DecodeJob's err): the event, not the configuration, is at fault.
func InvalidEventAnswer(err error) Answer {
	return Answer{
		Verdict: VerdictInvalid, FailureType: types.FailureTypeJobFailed,
		Message: awsid.Clip(fmt.Sprintf("%s: %s. The event is not as CodePipeline sends it; the action's UserParameters are not at fault. "+
			"Retry the stage; if it happens again, the function's log has the details.", InvalidEventPrefix, strings.ReplaceAll(err.Error(), "\n", "; ")), MaxMessageLength),
	}
}

// InternalAnswer fails a job whose check broke inside the gate. The gate
// fails safe: a bug must not let a deployment through unchecked.
func InternalAnswer(reason string) Answer {
	return Answer{
		Verdict: VerdictInternal, FailureType: types.FailureTypeJobFailed,
		Message: awsid.Clip(fmt.Sprintf("%s: %s. Retry the stage; the function's log has the details.", InternalPrefix, reason), MaxMessageLength),
	}
}

// eventLine names one event the way an operator looks it up: service,
// Region, event type code and ARN, the accounts it affects, when it
// started and its page in the AWS Health Dashboard.
func eventLine(e Event) string {
	accounts := strings.Join(e.Accounts, ", ")
	switch {
	case accounts != "":
	case e.Scope == "PUBLIC":
		accounts = "every account in the Region (public event)"
	default:
		accounts = "not looked up (name accounts to scope the check)"
	}
	started := "unknown"
	if !e.StartTime.IsZero() {
		started = e.StartTime.UTC().Format(time.RFC3339)
	}
	line := fmt.Sprintf("%s in %s: %s (%s), accounts: %s, started %s", e.Service, e.Region, e.TypeCode, e.ARN, accounts, started)
	if e.Link != "" {
		line += ", " + e.Link
	}
	return line
}

// openEvents says what the check found, or would have: "2 open issue
// events in us-east-1, global for EC2, RDS".
func openEvents(n int, p Params) string {
	cats := make([]string, len(p.Categories))
	for i, c := range p.Categories {
		cats[i] = string(c)
	}
	count, noun := strconv.Itoa(n), "events"
	switch n {
	case 0:
		count = "no"
	case 1:
		noun = "event"
	}
	s := fmt.Sprintf("%s open %s %s in %s", count, strings.Join(cats, "/"), noun, strings.Join(p.CheckedRegions(), ", "))
	if len(p.Services) > 0 {
		s += " for " + strings.Join(p.Services, ", ")
	}
	return s
}

// fitMessage joins head, the lines and tail with newlines into at most
// limit runes. Lines that do not fit are counted instead ("… and 3 more"),
// so the message always names as many events as it can and says how many
// it left out.
func fitMessage(head string, lines []string, tail string, limit int) string {
	runes := func(s string) int { return len([]rune(s)) }
	more := func(n int) string { return fmt.Sprintf("- … and %d more", n) }
	used := runes(head) + 1 + runes(tail)
	if used > limit {
		return awsid.Clip(head, limit)
	}
	var b strings.Builder
	b.WriteString(head)
	for i, line := range lines {
		rest := len(lines) - i - 1
		need := runes(line) + 1
		if rest > 0 {
			need += runes(more(rest)) + 1 // keep room to count the rest
		}
		if used+need > limit {
			if room := limit - used - 1; room >= runes(more(len(lines)-i)) {
				b.WriteString("\n" + more(len(lines)-i))
			}
			break
		}
		b.WriteString("\n" + line)
		used += runes(line) + 1
	}
	b.WriteString("\n" + tail)
	return b.String()
}
