package approval

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// Every SNS email carries an unsubscribe link, and the mail scanners that
// open every link (the reason decisions are POSTs) follow it too: an
// approver can be unsubscribed by a robot, and approval emails then reach
// nobody. The sweeper checks, at each run, that the approver topic still
// has a confirmed subscriber, and tells the operators when it has none.

type subscriptionsAPI interface {
	ListSubscriptionsByTopic(context.Context, *sns.ListSubscriptionsByTopicInput, ...func(*sns.Options)) (*sns.ListSubscriptionsByTopicOutput, error)
}

var _ subscriptionsAPI = (*sns.Client)(nil)

// alertEvery is how often the ops topic is told that the approver topic
// has no confirmed subscriber, while it has none: once a day, not at every
// sweep (every five minutes). The metric counts every sweep.
const alertEvery = 24 * time.Hour

// noApproverAlert is the item that says when the ops topic was last told.
const noApproverAlert = "alert#approver-topic-unconfirmed"

// Confirmed counts the confirmed subscriptions of a topic: SNS lists one
// waiting for its confirmation with the SubscriptionArn
// "PendingConfirmation" instead of an ARN (the API reference does not
// spell the placeholder out; SNS's console and examples show it), so only a
// subscription whose SubscriptionArn is an ARN counts.
func Confirmed(subs []snstypes.Subscription) int {
	n := 0
	for _, s := range subs {
		if arn.IsARN(aws.ToString(s.SubscriptionArn)) {
			n++
		}
	}
	return n
}

// Approvers is what the check of the approver topic found.
type Approvers struct {
	Confirmed, Pending int
	// Told: the ops topic was told now that none is confirmed.
	Told bool
}

// CheckApprovers lists the approver topic's subscriptions and, when none
// is confirmed, tells the ops topic (OpsTopicARN), at most once a day. An
// error is returned when SNS could not be asked; a failed notice is
// logged, and retried at the next sweep.
func (d *Decider) CheckApprovers(ctx context.Context) (Approvers, error) {
	var subs []snstypes.Subscription
	p := sns.NewListSubscriptionsByTopicPaginator(d.Topics, &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(d.ApproverTopicARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Approvers{}, fmt.Errorf("list the approver topic's subscriptions: %w", err)
		}
		subs = append(subs, page.Subscriptions...)
	}
	a := Approvers{Confirmed: Confirmed(subs)}
	a.Pending = len(subs) - a.Confirmed
	if a.Confirmed > 0 || d.OpsTopicARN == "" {
		return a, nil
	}
	d.logger().ErrorContext(ctx, "the approver topic has no confirmed subscriber: approval emails reach nobody", "topicArn", d.ApproverTopicARN, "pending", a.Pending)
	run := deadline.Start(ctx)
	defer run.Stop()
	done, cancel := run.Finish()
	defer cancel()
	now := d.now()
	if err := d.Store.markAlert(done, noApproverAlert, now, now.Add(-alertEvery)); errors.Is(err, errConflict) {
		return a, nil // told within the day
	} else if err != nil {
		d.logger().ErrorContext(ctx, "alert not marked; telling the ops topic anyway", "error", err.Error())
	}
	subject, body := noApproverNotice(d.ApproverTopicARN, a.Pending)
	if _, err := notify.Publish(done, d.SNS, d.OpsTopicARN, notify.Message{Subject: subject, Body: body}); err != nil {
		d.logger().ErrorContext(ctx, "ops notice of the unconfirmed approver topic failed", "error", err.Error())
		return a, nil
	}
	a.Told = true
	return a, nil
}

// markAlert records that an alert was sent at now, unless one was since
// notBefore. errConflict: it was.
func (s *Store) markAlert(ctx context.Context, id string, now, notBefore time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(id),
		UpdateExpression:    aws.String("SET kind = :kind, toldAt = :now, expiresAt = :expires"),
		ConditionExpression: aws.String("attribute_not_exists(toldAt) OR toldAt < :since"),
		ExpressionAttributeValues: values(map[string]any{
			":kind": "alert", ":now": stamp(now), ":since": stamp(notBefore),
			":expires": now.Add(keepAfterExpiry).Unix(),
		}),
	})
	if err != nil {
		return fmt.Errorf("mark alert %s: %w", strings.TrimPrefix(id, "alert#"), conflict(err))
	}
	return nil
}

// noApproverNotice tells the operators that the approver topic has no
// confirmed subscriber, and how approvers subscribe so that a scanner
// cannot unsubscribe them.
func noApproverNotice(topic string, pending int) (subject, body string) {
	subject = "AMI approval: the approver topic has no confirmed subscriber"
	var b strings.Builder
	fmt.Fprintf(&b, "The AMI approval topic has no confirmed subscriber: approval emails reach nobody, and builds\n")
	fmt.Fprintf(&b, "wait (or, in the workflow mode, time out and fail).\n\n")
	fmt.Fprintf(&b, "Topic:   %s\n", oneLine(topic))
	fmt.Fprintf(&b, "Pending: %d subscription(s) waiting for their confirmation\n\n", pending)
	fmt.Fprintf(&b, "A mail scanner that follows the unsubscribe link of an SNS email unsubscribes the approver. Have\n")
	fmt.Fprintf(&b, "each approver subscribe again and confirm with ConfirmSubscription and AuthenticateOnUnsubscribe=true\n")
	fmt.Fprintf(&b, "(see docs/ami-approval.md, \"Scanners and the unsubscribe link\"): then only an authenticated call\n")
	fmt.Fprintf(&b, "can unsubscribe them. This notice is repeated once a day while no subscriber is confirmed.\n")
	return subject, b.String()
}
