package rootvolume

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The replacements table (REPLACEMENTS_TABLE) is what the cleanup trusts: only
// the suite's roles may write it, so a record cannot be forged by whoever can
// tag a volume. It holds two kinds of item, told apart by their key's prefix:
//
//   - replacement#<client token>: a replacement the suite started, what was
//     asked, by whom, the task EC2 gave it and, once known, its outcome;
//   - root#<volume ID>: a root volume snapshot-on-volume-create confirmed,
//     so that a replacement started outside the suite can be traced back to
//     the root volume it replaced (ADOPT_EXTERNAL_REPLACEMENTS);
//   - invocation#<key>: the replacement an invocation started (its key: the
//     EventBridge event's ID, or Lambda's request ID), so that a redelivered
//     event or a retried invocation finds it again even after the task has
//     given the instance a new root, which a new client token would name;
//   - notice#<resource ID>: when people were last told that the cleanup
//     refused to delete the resource, and why, so that an unresolved
//     refusal is not told again every run.

// The kinds of item, in each item's "kind".
const (
	KindReplacement = "replacement"
	KindRoot        = "root"
	KindInvocation  = "invocation"
	KindNotice      = "notice"
)

// States of a replacement record.
const (
	StateRequested = "requested" // written before EC2 is asked
	StateStarted   = "started"   // EC2 accepted the task
	StateRefused   = "refused"   // EC2 refused the task: nothing was changed
	StateSucceeded = "succeeded" // the task succeeded (written by the cleanup)
	StateFailed    = "failed"    // the task failed (written by the cleanup)
)

const (
	replacementPrefix = "replacement#"
	rootPrefix        = "root#"
	invocationPrefix  = "invocation#"
	noticePrefix      = "notice#"
	// RecordTTL is how long an item lives (DynamoDB's TTL on expiresAt).
	// It outlasts the longest RETAIN_REPLACED, so a record never expires
	// before its volume may go; an expired record only keeps a volume.
	RecordTTL = 400 * 24 * time.Hour
	// MaxRetainReplaced is the longest rollback window RETAIN_REPLACED takes.
	MaxRetainReplaced = 365 * 24 * time.Hour
	// InvocationTTL is how long an invocation's item lives: longer than
	// Lambda keeps an asynchronous event (6 hours at most) and EventBridge
	// retries one (24 hours).
	InvocationTTL = 7 * 24 * time.Hour
)

// Replacement is the record of one replacement the suite started.
type Replacement struct {
	ID                   string     `dynamodbav:"id"`
	Kind                 string     `dynamodbav:"kind"`
	ClientToken          string     `dynamodbav:"clientToken"`
	InstanceID           string     `dynamodbav:"instanceId"`
	ReplacedVolumeID     string     `dynamodbav:"replacedVolumeId"`
	RestoreTo            string     `dynamodbav:"restoreTo"`
	SnapshotID           string     `dynamodbav:"snapshotId,omitempty"`
	DeleteReplacedVolume bool       `dynamodbav:"deleteReplacedVolume"`
	RequestedBy          string     `dynamodbav:"requestedBy"`
	RequestedAt          time.Time  `dynamodbav:"requestedAt"`
	TaskID               string     `dynamodbav:"taskId,omitempty"`
	State                string     `dynamodbav:"state"`
	Reason               string     `dynamodbav:"reason,omitempty"`
	TaskStartedAt        *time.Time `dynamodbav:"taskStartedAt,omitempty"`
	CompletedAt          *time.Time `dynamodbav:"completedAt,omitempty"`
	UpdatedAt            time.Time  `dynamodbav:"updatedAt"`
	ExpiresAt            time.Time  `dynamodbav:"expiresAt,unixtime"`
}

// RootObservation is a root volume snapshot-on-volume-create saw attached
// at an instance's root device.
type RootObservation struct {
	ID         string `dynamodbav:"id"`
	Kind       string `dynamodbav:"kind"`
	InstanceID string `dynamodbav:"instanceId"`
	VolumeID   string `dynamodbav:"volumeId"`
	Device     string `dynamodbav:"device"`
	// VolumeCreated is EC2's CreateTime of the volume: a fact fixed at
	// creation, unlike the time the observation was made.
	VolumeCreated time.Time `dynamodbav:"volumeCreated"`
	ObservedAt    time.Time `dynamodbav:"observedAt"`
	ExpiresAt     time.Time `dynamodbav:"expiresAt,unixtime"`
}

// invocationItem ties an invocation to the replacement it recorded.
type invocationItem struct {
	ID          string    `dynamodbav:"id"`
	Kind        string    `dynamodbav:"kind"`
	ClientToken string    `dynamodbav:"clientToken"`
	At          time.Time `dynamodbav:"at"`
	ExpiresAt   time.Time `dynamodbav:"expiresAt,unixtime"`
}

// Notice is when people were last told the cleanup refused a resource.
type Notice struct {
	ID         string    `dynamodbav:"id"`
	Kind       string    `dynamodbav:"kind"`
	ResourceID string    `dynamodbav:"resourceId"`
	Reason     string    `dynamodbav:"reason"` // the reason, without its details
	ToldAt     time.Time `dynamodbav:"toldAt"`
	ExpiresAt  time.Time `dynamodbav:"expiresAt,unixtime"`
}

// NoticeTTL is how long a notice is kept after it was told: it only has to
// outlast the time between reminders.
const NoticeTTL = 7 * 24 * time.Hour

// Records is the table's content as the cleanup reads it.
type Records struct {
	Replacements []Replacement
	Roots        []RootObservation
	// Notices are the refusals people were told of, by resource ID.
	Notices map[string]Notice
}

// Store reads and writes the replacements table.
type Store struct {
	DB    tableAPI
	Table string
}

// ErrRecordExists is returned by PutNewReplacement when the request was
// recorded before (a retry); the existing record comes with it.
var ErrRecordExists = errors.New("replacement already recorded")

// ReplacementID is the record key of the request with this client token: a
// retried request has the same token, so it finds its record.
func ReplacementID(clientToken string) string { return replacementPrefix + clientToken }

// PutNewReplacement writes the record of a new request, only if none has
// this key. On a retry it returns the existing record and ErrRecordExists.
func (s *Store) PutNewReplacement(ctx context.Context, r Replacement) (Replacement, error) {
	r.ID, r.Kind = ReplacementID(r.ClientToken), KindReplacement
	if r.ExpiresAt.IsZero() {
		r.ExpiresAt = r.RequestedAt.Add(RecordTTL)
	}
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return r, fmt.Errorf("record replacement of %s: %w", r.InstanceID, err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		existing, gerr := s.getReplacement(ctx, r.ID)
		if gerr != nil {
			return r, gerr
		}
		return existing, ErrRecordExists
	}
	if err != nil {
		return r, fmt.Errorf("record replacement of %s: %w", r.InstanceID, err)
	}
	return r, nil
}

// UpdateReplacement overwrites an existing record (state, task, outcome).
// It never creates one: a record starts only with PutNewReplacement.
func (s *Store) UpdateReplacement(ctx context.Context, r Replacement) error {
	item, err := attributevalue.MarshalMap(r)
	if err != nil {
		return fmt.Errorf("update replacement record %s: %w", r.ID, err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression: aws.String("attribute_exists(id)"),
	})
	if err != nil {
		return fmt.Errorf("update replacement record of %s: %w", r.InstanceID, err)
	}
	return nil
}

// PutInvocation records that the invocation with this key recorded the
// replacement with this client token. Written again by a retry of the
// same invocation, it changes nothing; an invocation tied to another
// replacement is an error.
func (s *Store) PutInvocation(ctx context.Context, key, clientToken string, at time.Time) error {
	item, err := attributevalue.MarshalMap(invocationItem{
		ID: invocationPrefix + key, Kind: KindInvocation, ClientToken: clientToken, At: at, ExpiresAt: at.Add(InvocationTTL),
	})
	if err != nil {
		return fmt.Errorf("record invocation %s: %w", key, err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression:       aws.String("attribute_not_exists(id) OR clientToken = :token"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":token": &types.AttributeValueMemberS{Value: clientToken}},
	})
	if err != nil {
		return fmt.Errorf("record invocation %s: %w", key, err)
	}
	return nil
}

// PutNotices records that people were told of these refusals (ResourceID,
// Reason and ToldAt set; the rest is filled in).
func (s *Store) PutNotices(ctx context.Context, notices []Notice) error {
	for _, n := range notices {
		n.ID, n.Kind, n.ExpiresAt = noticePrefix+n.ResourceID, KindNotice, n.ToldAt.Add(NoticeTTL)
		item, err := attributevalue.MarshalMap(n)
		if err == nil {
			_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item})
		}
		if err != nil {
			return fmt.Errorf("record refusal notice of %s: %w", n.ResourceID, err)
		}
	}
	return nil
}

// ReplacementOf returns the replacement the invocation with this key
// recorded, if it recorded one.
func (s *Store) ReplacementOf(ctx context.Context, key string) (Replacement, bool, error) {
	k, _ := attributevalue.MarshalMap(struct {
		ID string `dynamodbav:"id"`
	}{invocationPrefix + key})
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: k, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Replacement{}, false, fmt.Errorf("read invocation %s: %w", key, err)
	}
	if len(out.Item) == 0 {
		return Replacement{}, false, nil
	}
	var inv invocationItem
	if err := attributevalue.UnmarshalMap(out.Item, &inv); err != nil || inv.ClientToken == "" {
		return Replacement{}, false, fmt.Errorf("read invocation %s: unreadable (%v)", key, err)
	}
	r, err := s.getReplacement(ctx, ReplacementID(inv.ClientToken))
	return r, err == nil, err
}

func (s *Store) getReplacement(ctx context.Context, id string) (Replacement, error) {
	key, _ := attributevalue.MarshalMap(struct {
		ID string `dynamodbav:"id"`
	}{id})
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(s.Table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return Replacement{}, fmt.Errorf("read replacement record: %w", err)
	}
	var r Replacement
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil || r.ID != id {
		return Replacement{}, fmt.Errorf("read replacement record: not found or unreadable (%v)", err)
	}
	return r, nil
}

// PutRoot records a confirmed root volume. The first observation of a
// volume stands; a redelivered event writes nothing new.
func (s *Store) PutRoot(ctx context.Context, o RootObservation) error {
	o.ID, o.Kind = rootPrefix+o.VolumeID, KindRoot
	if o.ExpiresAt.IsZero() {
		o.ExpiresAt = o.ObservedAt.Add(RecordTTL)
	}
	item, err := attributevalue.MarshalMap(o)
	if err != nil {
		return fmt.Errorf("record root volume %s: %w", o.VolumeID, err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var cond *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &cond) {
		return fmt.Errorf("record root volume %s: %w", o.VolumeID, err)
	}
	return nil
}

// Load reads every record, strongly consistent, page by page. The table
// holds one item per replacement and per root volume, and expires them.
func (s *Store) Load(ctx context.Context) (Records, error) {
	var recs Records
	p := dynamodb.NewScanPaginator(s.DB, &dynamodb.ScanInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return recs, fmt.Errorf("read replacements table: %w", err)
		}
		for _, item := range page.Items {
			var head struct {
				Kind string `dynamodbav:"kind"`
			}
			if err := attributevalue.UnmarshalMap(item, &head); err != nil {
				return recs, fmt.Errorf("read replacements table: %w", err)
			}
			switch head.Kind {
			case KindReplacement:
				var r Replacement
				if err := attributevalue.UnmarshalMap(item, &r); err != nil {
					return recs, fmt.Errorf("read replacement record: %w", err)
				}
				recs.Replacements = append(recs.Replacements, r)
			case KindRoot:
				var o RootObservation
				if err := attributevalue.UnmarshalMap(item, &o); err != nil {
					return recs, fmt.Errorf("read root volume record: %w", err)
				}
				recs.Roots = append(recs.Roots, o)
			case KindNotice:
				var n Notice
				if err := attributevalue.UnmarshalMap(item, &n); err != nil {
					return recs, fmt.Errorf("read refusal notice: %w", err)
				}
				if recs.Notices == nil {
					recs.Notices = map[string]Notice{}
				}
				recs.Notices[n.ResourceID] = n
			}
		}
	}
	return recs, nil
}
