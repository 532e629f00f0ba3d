package diskalarm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// A fleet of 20,000 instances has about 120,000 alarms. Reading them all
// takes a few minutes, but writing them is bound by CloudWatch's quota of 3
// PutMetricAlarm calls a second per account: a first run needs about 11
// hours whatever the number of workers. So a run never fans out; it stops
// a margin before its deadline and queues a Resume with the last alarm name
// it tried. The queue invokes the function again, which reads afresh and
// writes on after the cursor. A continuation is queued only when the
// cursor moved strictly forward (Result.Progressed), so a chain ends even
// when every write fails; the scheduled run does not start while a chain
// is queued.

// ResumeKind marks the suite's continuation messages.
const ResumeKind = "lambda-suite/ebs-alarms/resume/v1"

// Resume is the message that continues a run.
type Resume struct {
	Kind string `json:"kind"`
	// Trigger is the run's first trigger: schedule or direct.
	Trigger     string `json:"trigger"`
	NamePattern string `json:"namePattern,omitempty"`
	Tag         string `json:"tag,omitempty"`
	TopicARN    string `json:"snsTopicArn,omitempty"`
	Cursor      string `json:"cursor"`
	// Pass counts the runs of the chain, the first being 1.
	Pass int `json:"pass"`
}

// NextResume returns the message that continues req after res.
func NextResume(req Request, trigger string, pass int, res Result) Resume {
	return Resume{
		Kind: ResumeKind, Trigger: trigger,
		NamePattern: req.Selector.NamePattern, Tag: req.Selector.Tag.String(), TopicARN: req.TopicARN,
		Cursor: res.Cursor, Pass: pass + 1,
	}
}

// DecodeResume reads a queued message. Every error wraps ErrBadInput: the
// message is the suite's own, so a bad one was not sent by the suite.
func DecodeResume(body string) (Resume, Request, error) {
	var m Resume
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, Request{}, fmt.Errorf("%w: not a continuation message: %v", ErrBadInput, err)
	}
	if dec.More() {
		return m, Request{}, fmt.Errorf("%w: trailing data after the continuation message", ErrBadInput)
	}
	switch {
	case m.Kind != ResumeKind:
		return m, Request{}, fmt.Errorf("%w: kind %q, want %q", ErrBadInput, awsid.Clip(m.Kind, 80), ResumeKind)
	case m.Trigger != TriggerSchedule && m.Trigger != TriggerDirect:
		return m, Request{}, fmt.Errorf("%w: trigger %q, want schedule or direct", ErrBadInput, awsid.Clip(m.Trigger, 80))
	case m.Cursor == "":
		return m, Request{}, fmt.Errorf("%w: no cursor", ErrBadInput)
	case m.Pass < 2:
		return m, Request{}, fmt.Errorf("%w: pass %d, want 2 or more", ErrBadInput, m.Pass)
	}
	req := Request{Trigger: TriggerResume, TopicARN: m.TopicARN, Cursor: m.Cursor, Selector: Selector{NamePattern: m.NamePattern}}
	if m.Tag != "" {
		t, err := awsid.ParseTag(m.Tag)
		if err != nil {
			return m, Request{}, fmt.Errorf("%w: %w", ErrBadInput, err)
		}
		req.Selector.Tag = t
	}
	return m, req, req.Validate()
}

// Queue holds the continuations.
type Queue struct {
	SQS queueAPI
	URL string
}

// Continue queues m.
func (q *Queue) Continue(ctx context.Context, m Resume) error {
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := q.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("queue the continuation after %q: %w", m.Cursor, err)
	}
	return nil
}

// Busy reports whether a chain is under way: a continuation is waiting,
// in flight or delayed. The counts are approximate, and that is enough: two
// overlapping runs write the same differences, at worst twice.
func (q *Queue) Busy(ctx context.Context) (bool, error) {
	out, err := q.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return false, fmt.Errorf("read the continuation queue's attributes: %w", err)
	}
	for _, v := range out.Attributes {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return true, nil
		}
	}
	return false, nil
}
