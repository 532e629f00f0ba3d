package approval

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Workflow mode's items, in the same decisions table (see store.go):
//
//	step#<step execution ID>  the waiting step's claim: one request and one email per step
//	request#<token hash>      the request, as in the SNS flow, plus the step it is bound to
//
// A request item bound to a step carries the stepItem attributes; one
// without stepExecutionId is the SNS flow's.
const stepClaimPrefix = "step#"

// Step is the waiting step a request is bound to, as Image Builder
// described it when the request was made.
type Step struct {
	ExecutionID         string
	WorkflowExecutionID string
	Name                string
	Message             string // the step's message, as Image Builder gave it
	Region              string // the build's Region, where the step is acted on
	TimesOutAt          time.Time
	// ActionSentAt is when Image Builder accepted the decision's action;
	// RemindedAt when the reminder before the time-out went out.
	ActionSentAt time.Time
	RemindedAt   time.Time
}

// stepItem is Step as stored on the request item.
type stepItem struct {
	StepExecutionID     string      `dynamodbav:"stepExecutionId"`
	WorkflowExecutionID string      `dynamodbav:"workflowExecutionId"`
	StepName            string      `dynamodbav:"stepName"`
	StepMessage         string      `dynamodbav:"stepMessage"`
	StepRegion          string      `dynamodbav:"stepRegion"`
	StepTimesOutAt      storedTime  `dynamodbav:"stepTimesOutAt"`
	StepActionSentAt    *storedTime `dynamodbav:"stepActionSentAt,omitempty"`
	ReminderSentAt      *storedTime `dynamodbav:"reminderSentAt,omitempty"`
}

func (s Step) item() stepItem {
	return stepItem{
		StepExecutionID: s.ExecutionID, WorkflowExecutionID: s.WorkflowExecutionID, StepName: s.Name,
		StepMessage: s.Message, StepRegion: s.Region, StepTimesOutAt: storedTime(s.TimesOutAt),
		StepActionSentAt: storedOrNil(s.ActionSentAt), ReminderSentAt: storedOrNil(s.RemindedAt),
	}
}

func (i stepItem) step() Step {
	return Step{
		ExecutionID: i.StepExecutionID, WorkflowExecutionID: i.WorkflowExecutionID, Name: i.StepName,
		Message: i.StepMessage, Region: i.StepRegion, TimesOutAt: time.Time(i.StepTimesOutAt),
		ActionSentAt: i.StepActionSentAt.time(), RemindedAt: i.ReminderSentAt.time(),
	}
}

// storedOrNil is t as stored, or nil (left out of the item) when zero.
func storedOrNil(t time.Time) *storedTime {
	if t.IsZero() {
		return nil
	}
	st := storedTime(t)
	return &st
}

// stepRequestItem is the request item of a step-bound request: the SNS
// flow's attributes (requestItem) and the step's.
func stepRequestItem(req Request, st Step) (map[string]types.AttributeValue, error) {
	item := marshal(newRequestItem(req))
	extra, err := attributevalue.MarshalMap(st.item())
	if err != nil {
		return nil, fmt.Errorf("marshal step of %s: %w", req.Ref, err)
	}
	maps.Copy(item, extra)
	return item, nil
}

// requestAV is the request item of req, with the attributes of the step
// it is bound to when st is not nil.
func requestAV(req Request, st *Step) (map[string]types.AttributeValue, error) {
	item := marshal(newRequestItem(req))
	if st != nil {
		var err error
		if item, err = stepRequestItem(req, *st); err != nil {
			return nil, err
		}
	}
	if len(req.Approvers) > 0 {
		// The map each vote is written into (putVote).
		item["votes"] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}
	}
	return item, nil
}

// readRequest reads the request for a token, for both flows, and, when it
// is bound to a workflow step, the step (nil for the SNS flow's requests),
// in one read. ErrUnknownToken: none.
func (s *Store) readRequest(ctx context.Context, t Token) (Request, *Step, error) {
	id := requestPrefix + t.hash()
	item, err := s.get(ctx, id)
	if err != nil {
		return Request{}, nil, err
	}
	if item == nil {
		// A named approver's token opens its ticket (namedstore.go).
		return s.readTicket(ctx, t)
	}
	req, st, err := parseStepRequest(id, item)
	return req, st, err
}

func parseStepRequest(id string, item map[string]types.AttributeValue) (Request, *Step, error) {
	req, err := parseRequestItem(id, item)
	if err != nil {
		return req, nil, err
	}
	if _, ok := item["stepExecutionId"]; !ok {
		return req, nil, nil
	}
	var si stepItem
	if err := attributevalue.UnmarshalMap(item, &si); err != nil {
		return req, nil, fmt.Errorf("read step of %s: %w", req.Ref, err)
	}
	st := si.step()
	return req, &st, nil
}

// finishStep records what came of a step-bound decision, once: only while
// the record says the action is being sent.
func (s *Store) finishStep(ctx context.Context, req Request, sentAt, now time.Time) error {
	req.UpdatedAt = now
	stateMAC, err := s.sealState(ctx, req)
	if err != nil {
		return err
	}
	update := "SET outcome = :outcome, reason = :reason, updatedAt = :now, stateMac = :state"
	vals := map[string]any{":outcome": req.Outcome, ":reason": req.Reason, ":now": stamp(now), ":sending": OutcomeSending, ":state": stateMAC}
	if !sentAt.IsZero() {
		update += ", stepActionSentAt = :sent"
		vals[":sent"] = stamp(sentAt)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(req.id),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("outcome = :sending"),
		ExpressionAttributeValues: values(vals),
	})
	if err != nil {
		return fmt.Errorf("record outcome of %s: %w", req.Ref, conflict(err))
	}
	return nil
}

// stepWork lists, in one scan, the step-bound requests the sweeper acts on:
// decisions Image Builder has not confirmed (recorded "sending", last
// written before staleBefore: the invocation that sent them failed or
// stopped), and undecided requests not reminded yet whose step times out
// after now and by soon.
func (s *Store) stepWork(ctx context.Context, now, soon, staleBefore time.Time) (unconfirmed, toRemind stepRequests, err error) {
	all, err := s.stepRequests(ctx, "workflow steps to sweep",
		"((outcome = :sending AND updatedAt < :stale) OR (attribute_not_exists(decision) AND attribute_not_exists(reminderSentAt) "+
			"AND stepTimesOutAt > :now AND stepTimesOutAt <= :soon))",
		map[string]any{":sending": OutcomeSending, ":stale": stamp(staleBefore), ":now": stamp(now), ":soon": stamp(soon)})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range all {
		if r.Outcome == OutcomeSending {
			unconfirmed = append(unconfirmed, r)
		} else {
			toRemind = append(toRemind, r)
		}
	}
	return unconfirmed, toRemind, nil
}

// stepRequest is a step-bound request with its step.
type stepRequest struct {
	Request
	Step Step
}

type stepRequests []stepRequest

// stepRequests is the sweeper's filtered scan (as staleSharing's) of the
// step-bound requests that also match filter.
func (s *Store) stepRequests(ctx context.Context, what, filter string, vals map[string]any) (stepRequests, error) {
	vals[":request"] = "request"
	p := dynamodb.NewScanPaginator(s.DB, &dynamodb.ScanInput{
		TableName:                 aws.String(s.Table),
		ConsistentRead:            aws.Bool(true),
		FilterExpression:          aws.String("kind = :request AND attribute_exists(stepExecutionId) AND " + filter),
		ExpressionAttributeValues: values(vals),
	})
	var out stepRequests
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find %s: %w", what, err)
		}
		for _, item := range page.Items {
			var id string
			if v, ok := item["id"].(*types.AttributeValueMemberS); ok {
				id = v.Value
			}
			req, st, err := parseStepRequest(id, item)
			if err != nil || st == nil {
				continue
			}
			out = append(out, stepRequest{Request: req, Step: *st})
		}
	}
	return out, nil
}

// markReminded claims a request's one reminder: only the first writer
// wins, and only while the request is undecided. errConflict: reminded
// already, or decided.
func (s *Store) markReminded(ctx context.Context, req Request, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(req.id),
		UpdateExpression:          aws.String("SET reminderSentAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(id) AND attribute_not_exists(reminderSentAt) AND attribute_not_exists(decision)"),
		ExpressionAttributeValues: values(map[string]any{":now": stamp(now)}),
	})
	if err != nil {
		return fmt.Errorf("mark %s reminded: %w", req.Ref, conflict(err))
	}
	return nil
}

// unmarkReminded gives the reminder back after its publish failed, so that
// the next sweep sends it.
func (s *Store) unmarkReminded(ctx context.Context, req Request, at time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(req.id),
		UpdateExpression:          aws.String("REMOVE reminderSentAt"),
		ConditionExpression:       aws.String("reminderSentAt = :at"),
		ExpressionAttributeValues: values(map[string]any{":at": stamp(at)}),
	})
	if err != nil {
		return fmt.Errorf("unmark %s reminded: %w", req.Ref, conflict(err))
	}
	return nil
}
