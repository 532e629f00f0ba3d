package diskalarm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/proof"
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
// is under way.
//
// Whoever can put a message on the queue could steer a run, so the queue
// trusts nothing it has not sealed itself:
//   - each Resume carries a MAC (shared/proof, the stack's HMAC key) over
//     its deciding fields: the trigger, the selection, the topic, the
//     cursor, the pass and the time it was sealed. Open drops a message
//     whose MAC does not verify, or that is older than MaxResumeAge;
//   - a chain that the schedule started resumes with the selection and the
//     topic of the configuration, never a message's copy; only a chain an
//     operator started carries the operator's topic, sealed;
//   - the schedule stands aside only for a chain that holds a fresh, sealed
//     lease (a tag on the queue, written before each continuation is sent)
//     while a message is on the queue, not for counts alone, which anyone
//     who could send a delayed message would move.
// The stack's queue policy also denies sqs:SendMessage to every principal
// but the function's role, and the key policy lets only that role make or
// check a MAC.

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
	// ScopeAt, in a chain the schedule started, is the time its first
	// pass took its Scope at, so that the chain compares that slice.
	ScopeAt time.Time `json:"scopeAt,omitzero"`
	// SealedAt is when the message was sealed, and MAC its seal
	// (shared/proof) over the fields above and SealedAt.
	SealedAt time.Time `json:"sealedAt,omitzero"`
	MAC      string    `json:"mac,omitempty"`
}

// sealed is what a Resume's MAC covers: every field that decides what the
// resumed pass does, and when it was sealed.
func (m Resume) sealed() []proof.Field {
	fields := []proof.Field{
		proof.String("trigger", m.Trigger), proof.String("namePattern", m.NamePattern), proof.String("tag", m.Tag),
		proof.String("snsTopicArn", m.TopicARN), proof.String("cursor", m.Cursor), proof.Int("pass", int64(m.Pass)),
		proof.Time("sealedAt", m.SealedAt),
	}
	// Only when set, so that the seals of the previous version's
	// messages, which have no ScopeAt, still verify.
	if !m.ScopeAt.IsZero() {
		fields = append(fields, proof.Time("scopeAt", m.ScopeAt))
	}
	return fields
}

// DecodeResume reads a queued message. Every error wraps ErrBadInput: the
// message is the suite's own, so a bad one was not sent by the suite.
func DecodeResume(body string) (Resume, Request, error) {
	var m Resume
	dec := json.NewDecoder(bytes.NewReader([]byte(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, Request{}, badInput("not a continuation message: %v", err)
	}
	if dec.More() {
		return m, Request{}, badInput("trailing data after the continuation message")
	}
	switch {
	case m.Kind != ResumeKind:
		return m, Request{}, badInput("kind %q, want %q", awsid.Clip(m.Kind, 80), ResumeKind)
	case m.Trigger != TriggerSchedule && m.Trigger != TriggerDirect:
		return m, Request{}, badInput("trigger %q, want schedule or direct", awsid.Clip(m.Trigger, 80))
	case m.Cursor == "":
		return m, Request{}, badInput("no cursor")
	case m.Pass < 2:
		return m, Request{}, badInput("pass %d, want 2 or more", m.Pass)
	}
	req := Request{Trigger: TriggerResume, TopicARN: m.TopicARN, Cursor: m.Cursor, Selector: Selector{NamePattern: m.NamePattern},
		Origin: m.Trigger, Pass: m.Pass, At: m.ScopeAt}
	if m.Tag != "" {
		t, err := awsid.ParseTag(m.Tag)
		if err != nil {
			return m, Request{}, badInputOf(err)
		}
		req.Selector.Tag = t
	}
	return m, req, req.Validate()
}

// The freshness rules of continuations and leases.
const (
	// MaxResumeAge: a continuation sealed longer ago than this is not acted
	// on (a replay). The queue hands a message out at most three times, a
	// visibility timeout of 90 minutes apart, so a genuine one is taken
	// within about five hours of being sealed.
	MaxResumeAge = 6 * time.Hour
	// LeaseTTL: how long a lease keeps the schedule aside after the
	// continuation it announced was queued: one visibility timeout (90
	// minutes, after which a pass that failed is tried again) and a
	// 15-minute pass.
	LeaseTTL = 2 * time.Hour
	// clockSkew is how far in the future a seal's time may be.
	clockSkew = 5 * time.Minute
	// LeaseTag is the queue tag that holds the chain's lease.
	LeaseTag = "lambda-suite:chain"
	// LeaseKind is what a lease's MAC is made for.
	LeaseKind = "lambda-suite/ebs-alarms/lease/v1"
)

// ErrStale: the continuation's seal verifies, but it is older than
// MaxResumeAge (or dated in the future): a replay, not acted on.
var ErrStale = errors.New("the continuation is not fresh")

// Queue holds the continuations.
type Queue struct {
	SQS queueAPI
	URL string
	// Proof seals the continuations and the chain's lease, and checks them.
	Proof *proof.Sealer
	Now   func() time.Time // the wall clock when nil
}

// Seal dates m now and gives it its MAC.
func (q *Queue) Seal(ctx context.Context, m Resume) (Resume, error) {
	m.SealedAt = clock.Now(q.Now).UTC()
	mac, err := q.Proof.Seal(ctx, ResumeKind, m.sealed()...)
	if err != nil {
		return m, fmt.Errorf("seal the continuation after %q: %w", m.Cursor, err)
	}
	m.MAC = mac
	return m, nil
}

// Continue seals m, takes the lease for its chain, and queues it. The
// lease goes first: a lease without a message keeps nobody aside (Busy
// needs both), while a message without a lease would let the schedule run
// beside the chain.
func (q *Queue) Continue(ctx context.Context, m Resume) error {
	m, err := q.Seal(ctx, m)
	if err != nil {
		return err
	}
	if err := q.lease(ctx, m.SealedAt); err != nil {
		return err
	}
	body, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := q.SQS.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(q.URL), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("queue the continuation after %q: %w", m.Cursor, err)
	}
	return nil
}

// ContinueAfter queues the continuation of req after its pass res
// (NextResume). It runs in the margin the pass kept free, on a context
// that ends at the invocation's own deadline (deadline.Run.Finish).
func (q *Queue) ContinueAfter(ctx context.Context, req Request, res Result) error {
	run := deadline.Start(ctx)
	defer run.Stop()
	fin, cancel := run.Finish()
	defer cancel()
	return q.Continue(fin, NextResume(req, res))
}

// Open reads a queued message and checks its seal and its age. The error
// wraps ErrBadInput (not a continuation the suite wrote), proof.ErrUnsealed
// or proof.ErrTampered (no MAC, or one that does not verify), or ErrStale
// (a replay): then Untrusted holds, and the message is dropped and
// reported, never acted on. Any other error is KMS not answering: nothing
// is decided, a retry can. A nil Queue (no RESUME_QUEUE_URL) has no key to
// check a seal with, so a message that reads is taken as unsealed.
func (q *Queue) Open(ctx context.Context, body string) (Resume, Request, error) {
	m, req, err := DecodeResume(body)
	if err != nil {
		return m, req, err
	}
	if q == nil {
		return m, Request{}, fmt.Errorf("no RESUME_QUEUE_URL, so no key to check the message with: %w", proof.ErrUnsealed)
	}
	if err := q.Proof.Verify(ctx, ResumeKind, m.MAC, m.sealed()...); err != nil {
		return m, Request{}, err
	}
	if !fresh(m.SealedAt, clock.Now(q.Now), MaxResumeAge) {
		return m, Request{}, fmt.Errorf("%w: sealed at %s, over %s ago", ErrStale, m.SealedAt.UTC().Format(time.RFC3339), MaxResumeAge)
	}
	return m, req, nil
}

// Untrusted reports whether Open's error says the message is not one the
// function sealed, or sealed too long ago: a retry cannot fix it.
func Untrusted(err error) bool {
	return proof.Untrusted(err) || errors.Is(err, ErrStale) || errors.Is(err, ErrBadInput)
}

func fresh(sealedAt, now time.Time, ttl time.Duration) bool {
	age := now.Sub(sealedAt)
	return !sealedAt.IsZero() && age <= ttl && age >= -clockSkew
}

// lease writes the chain's lease: the time its next continuation is
// queued, sealed with the queue's URL.
func (q *Queue) lease(ctx context.Context, at time.Time) error {
	mac, err := q.Proof.Seal(ctx, LeaseKind, proof.String("queue", q.URL), proof.Time("sealedAt", at))
	if err != nil {
		return fmt.Errorf("seal the chain's lease: %w", err)
	}
	// Tag values take letters, digits, spaces and _ . : / = + - @: the
	// RFC 3339 time and the base64 MAC are made of those.
	v := at.UTC().Format(time.RFC3339Nano) + " " + mac
	if _, err := q.SQS.TagQueue(ctx, &sqs.TagQueueInput{QueueUrl: aws.String(q.URL), Tags: map[string]string{LeaseTag: v}}); err != nil {
		return fmt.Errorf("write the chain's lease: %w", err)
	}
	return nil
}

// StandReason says why the schedule stands aside or not.
type StandReason string

// The reasons of Standing.
const (
	ChainUnderway  StandReason = "a chain holding a fresh lease is under way"
	QueueEmpty     StandReason = "no continuation on the queue"
	NoLease        StandReason = "messages on the queue, but no chain lease"
	LeaseStale     StandReason = "messages on the queue, but the chain's lease is not fresh"
	LeaseUntrusted StandReason = "messages on the queue, but the chain's lease does not verify"
)

// Standing is whether the schedule stands aside for a chain.
type Standing struct {
	Aside  bool
	Reason StandReason
	// Untrusted is the lease's verdict when it does not verify (no MAC, or
	// a wrong one): tampering, which the caller reports.
	Untrusted error
}

// Busy reports whether a chain is under way: a continuation is waiting,
// in flight or delayed, and the chain holds a lease that verifies and is
// younger than LeaseTTL. The counts are approximate, and that is enough:
// two overlapping runs write the same differences, at worst twice. An
// error means the queue or KMS could not be asked.
func (q *Queue) Busy(ctx context.Context) (Standing, error) {
	out, err := q.SQS.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(q.URL),
		AttributeNames: []sqstypes.QueueAttributeName{
			sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesDelayed,
		},
	})
	if err != nil {
		return Standing{}, fmt.Errorf("read the continuation queue's attributes: %w", err)
	}
	pending := false
	for _, v := range out.Attributes {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			pending = true
		}
	}
	if !pending {
		return Standing{Reason: QueueEmpty}, nil
	}
	tags, err := q.SQS.ListQueueTags(ctx, &sqs.ListQueueTagsInput{QueueUrl: aws.String(q.URL)})
	if err != nil {
		return Standing{}, fmt.Errorf("read the chain's lease: %w", err)
	}
	v, ok := tags.Tags[LeaseTag]
	if !ok {
		return Standing{Reason: NoLease}, nil
	}
	stamp, mac, _ := strings.Cut(v, " ")
	at, perr := time.Parse(time.RFC3339Nano, stamp)
	if perr != nil {
		// A lease that is not ours is a verdict on the lease, not a failed read.
		return Standing{Reason: LeaseUntrusted, Untrusted: fmt.Errorf("%s: %w", LeaseKind, proof.ErrTampered)}, nil //nolint:nilerr // see above
	}
	if err := q.Proof.Verify(ctx, LeaseKind, mac, proof.String("queue", q.URL), proof.Time("sealedAt", at)); err != nil {
		if proof.Untrusted(err) {
			return Standing{Reason: LeaseUntrusted, Untrusted: err}, nil
		}
		return Standing{}, err
	}
	if !fresh(at, clock.Now(q.Now), LeaseTTL) {
		return Standing{Reason: LeaseStale}, nil
	}
	return Standing{Aside: true, Reason: ChainUnderway}, nil
}

// StandingOf reports whether inv's run stands aside for a chain. Only the
// schedule's may, so only for it is the queue asked (Busy); without a
// queue (a nil q, no RESUME_QUEUE_URL) there is no chain to stand aside for.
func (q *Queue) StandingOf(ctx context.Context, inv Invocation) (Standing, error) {
	if q == nil || inv.Kind != KindSchedule {
		return Standing{}, nil
	}
	return q.Busy(ctx)
}
