package healthgate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cptypes "github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	schedtypes "github.com/aws/aws-sdk-go-v2/service/scheduler/types"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// AWS Health's events on EventBridge (AWS Health user guide, "Reference:
// AWS Health events Amazon EventBridge schema",
// https://docs.aws.amazon.com/health/latest/ug/aws-health-events-eventbridge-schema.html):
// source aws.health, detail-type "AWS Health Event", and in detail the
// event's eventArn, service, eventTypeCode, eventRegion and statusCode
// (open, closed, upcoming).
const (
	HealthEventSource     = "aws.health"
	HealthEventDetailType = "AWS Health Event"
	// HealthEventClosed is the statusCode of an all-clear.
	HealthEventClosed = "closed"
)

// HealthChange is an AWS Health event from EventBridge: an event opened,
// changed or closed.
type HealthChange struct {
	ARN      string
	Status   string
	Service  string
	TypeCode string
	// Region is the event's Region (detail.eventRegion), not the one it
	// was delivered to.
	Region string
	Time   time.Time
}

// healthARN is AWS Health's event ARN: arn:<partition>:health:<Region>::event/...
var healthARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:health:[a-z0-9-]*::event(/[A-Za-z0-9_-]+)+$`)

// DecodeHealthChange reads an AWS Health event from EventBridge. Anyone
// who may call events:PutEvents can put an event that looks like one on a
// custom bus (the default bus refuses sources starting "aws."); this one
// is never trusted as a fact: it only makes pipeline-stage-retry ask AWS
// Health again (HandleHealthChange).
func DecodeHealthChange(raw []byte) (*HealthChange, error) {
	var ev struct {
		Source     string    `json:"source"`
		DetailType string    `json:"detail-type"`
		Time       time.Time `json:"time"`
		Detail     struct {
			EventArn      string `json:"eventArn"`
			Service       string `json:"service"`
			EventTypeCode string `json:"eventTypeCode"`
			StatusCode    string `json:"statusCode"`
			EventRegion   string `json:"eventRegion"`
		} `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("AWS Health event: %w", err)
	}
	d := ev.Detail
	var errs []error
	if ev.Source != HealthEventSource || ev.DetailType != HealthEventDetailType {
		errs = append(errs, fmt.Errorf("source %q, detail-type %q, want %s and %s", awsid.Clip(ev.Source, 64), awsid.Clip(ev.DetailType, 64), HealthEventSource, HealthEventDetailType))
	}
	if len(d.EventArn) > 1600 || !healthARN.MatchString(d.EventArn) {
		errs = append(errs, fmt.Errorf("detail.eventArn %q is not an AWS Health event ARN", awsid.Clip(d.EventArn, 120)))
	}
	if !slices.Contains([]string{"open", "closed", "upcoming"}, d.StatusCode) {
		errs = append(errs, fmt.Errorf("detail.statusCode %q is not open, closed or upcoming", awsid.Clip(d.StatusCode, 64)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("AWS Health event: %w", err)
	}
	return &HealthChange{ARN: d.EventArn, Status: d.StatusCode, Service: awsid.Clip(d.Service, 64), TypeCode: awsid.Clip(d.EventTypeCode, 100),
		Region: awsid.Clip(d.EventRegion, 64), Time: ev.Time}, nil
}

// HandleHealthChange re-checks, at once, each stage whose re-check is
// scheduled and which waits on the event that closed (or on events not
// recorded). The event is a hint, not a fact: each stage is retried only if
// AWS Health itself, asked again with the gate's parameters, now finds
// nothing blocking; otherwise its scheduled re-check stays, as it does
// for an event that is not an all-clear. The schedules are the fallback
// and the record: a retry here makes the scheduled re-check find the stage
// moved on (running, or its retry count grown) and drop it, and a retry by
// the schedule makes an all-clear's re-check drop it, so the stage is
// retried once.
func (r *Retrier) HandleHealthChange(ctx context.Context, ev HealthChange, target string) (RetryResult, error) {
	res := RetryResult{}
	if ev.Status != HealthEventClosed {
		res.Outcome, res.Reason = RetryIgnored, fmt.Sprintf("AWS Health event %s is %s, not closed: only an all-clear brings a re-check forward", ev.ARN, ev.Status)
		return res, nil
	}
	waiting, err := r.waiting(ctx, ev.ARN)
	if err != nil {
		return res, err
	}
	if len(waiting) == 0 {
		res.Outcome, res.Reason = RetryIgnored, fmt.Sprintf("no stage waits on AWS Health event %s", ev.ARN)
		return res, nil
	}
	counts := map[string]int{}
	for _, m := range waiting {
		one, err := r.recheck(ctx, m, target, false)
		if err != nil {
			return res, err
		}
		res.Stages = append(res.Stages, one)
		counts[one.Outcome]++
	}
	res.Outcome = RetryStillBlocked
	if counts[RetryRetried] > 0 {
		res.Outcome = RetryRetried
	}
	var parts []string
	for _, o := range []string{RetryRetried, RetryStillBlocked, RetryDropped, RetryIgnored} {
		if counts[o] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[o], o))
		}
	}
	res.Reason = fmt.Sprintf("AWS Health event %s closed: re-checked %d waiting stage(s): %s", ev.ARN, len(waiting), strings.Join(parts, ", "))
	return res, nil
}

// waiting reads the pending re-checks from the stack's schedule group
// (only this function writes there) and returns those waiting on arn, or
// on events not recorded, one per stage execution.
func (r *Retrier) waiting(ctx context.Context, arn string) ([]Recheck, error) {
	pages := scheduler.NewListSchedulesPaginator(r.Scheduler, &scheduler.ListSchedulesInput{
		GroupName: aws.String(r.Config.ScheduleGroup), NamePrefix: aws.String(schedulePrefix), State: schedtypes.ScheduleStateEnabled,
	})
	var out []Recheck
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the re-check schedules of group %s: %w", r.Config.ScheduleGroup, err)
		}
		for _, s := range page.Schedules {
			got, err := r.Scheduler.GetSchedule(ctx, &scheduler.GetScheduleInput{Name: s.Name, GroupName: aws.String(r.Config.ScheduleGroup)})
			var notFound *schedtypes.ResourceNotFoundException
			switch {
			case errors.As(err, &notFound):
				continue // it ran (and deleted itself) since the list
			case err != nil:
				return nil, fmt.Errorf("read re-check schedule %s: %w", aws.ToString(s.Name), err)
			case got.Target == nil:
				continue
			}
			in, err := DecodeRetryInput([]byte(aws.ToString(got.Target.Input)))
			if err != nil || in.Recheck == nil {
				r.Log.WarnContext(ctx, "schedule in the group is not a re-check; skipped", "schedule", aws.ToString(s.Name))
				continue
			}
			m := *in.Recheck
			if len(m.Events) > 0 && !slices.Contains(m.Events, arn) {
				continue
			}
			// One re-check per stage execution: the latest, should an
			// earlier schedule not have deleted itself yet.
			i := slices.IndexFunc(out, func(o Recheck) bool {
				return o.Pipeline == m.Pipeline && o.Stage == m.Stage && o.ExecutionID == m.ExecutionID && o.RetriesSeen == m.RetriesSeen
			})
			switch {
			case i < 0:
				out = append(out, m)
			case m.Check > out[i].Check:
				out[i] = m
			}
		}
	}
	return out, nil
}

// maxRecordedEvents bounds the ARNs a re-check message records, so the
// message stays small: it is the schedule's target input, whose length
// EventBridge Scheduler bounds (API reference, Target; the exact maximum
// was not confirmed for this change), and the checks share it. A stage
// blocked by more events records none, and any all-clear re-checks it.
const maxRecordedEvents = 20

// recorded is arns as a re-check message records them: nil when there are
// more than maxRecordedEvents.
func recorded(arns []string) []string {
	if len(arns) > maxRecordedEvents {
		return nil
	}
	return arns
}

// eventARNs finds AWS Health event ARNs in a gate's failure message.
var eventARNs = regexp.MustCompile(`arn:aws(-[a-z]+)*:health:[a-z0-9-]*::event(/[A-Za-z0-9_-]+)+`)

// blockingEvents are the AWS Health events the gate's failures in the
// stage name (its message lists each event's ARN), once each.
func blockingEvents(s cptypes.StageState) []string {
	var out []string
	for _, a := range s.ActionStates {
		e := a.LatestExecution
		if e == nil || e.ErrorDetails == nil || !strings.HasPrefix(aws.ToString(e.ErrorDetails.Message), BlockedPrefix) {
			continue
		}
		for _, arn := range eventARNs.FindAllString(aws.ToString(e.ErrorDetails.Message), -1) {
			if !slices.Contains(out, arn) {
				out = append(out, arn)
			}
		}
	}
	return out
}
