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
	"github.com/ebs-ops/lambda-suite/shared/proof"
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
//   - rollback#<volume ID>: a replaced root volume the cleanup saw again
//     as an instance's root after its task, so that the task never decides
//     its delete again (written by the cleanup);
//   - orphan#<snapshot ID>: when the cleanup first saw a suite snapshot
//     whose source volume is gone (RETAIN_ORPHANED counts from then);
//   - notice#<resource ID>: when people were last told that the cleanup
//     refused to delete the resource, and why, so that an unresolved
//     refusal is not told again every run.
//
// Every kind carries a MAC (seal.go): a write grant on the table is not
// enough to make a record the suite acts on, nor a notice that silences.

// The kinds of item, in each item's "kind".
const (
	KindReplacement = "replacement"
	KindRoot        = "root"
	KindInvocation  = "invocation"
	KindNotice      = "notice"
	KindRollback    = "rollback"
	KindOrphan      = "orphan"
)

// States of a replacement record.
const (
	StateRequested = "requested" // written before EC2 is asked
	StateStarted   = "started"   // EC2 accepted the task
	StateRefused   = "refused"   // EC2 refused the task: nothing was changed
	StateSucceeded = "succeeded" // the task succeeded (written by the cleanup)
	StateFailed    = "failed"    // the task failed (written by the cleanup)
	// StateUnknown: EC2's answer to CreateReplaceRootVolumeTask was lost (a
	// time-out, a 5xx, a broken connection): a task may exist. The next
	// request asks EC2 before it decides anything.
	StateUnknown = "unknown"
)

const (
	replacementPrefix = "replacement#"
	rootPrefix        = "root#"
	invocationPrefix  = "invocation#"
	noticePrefix      = "notice#"
	rollbackPrefix    = "rollback#"
	orphanPrefix      = "orphan#"
	// RecordTTL is how long an item lives (DynamoDB's TTL on expiresAt).
	// It outlasts the longest RETAIN_REPLACED, so a record never expires
	// before its volume may go; an expired record only keeps a volume.
	RecordTTL = 400 * 24 * time.Hour
	// MaxRetainReplaced is the longest rollback window RETAIN_REPLACED takes,
	// and the longest RETAIN_ORPHANED.
	MaxRetainReplaced = 365 * 24 * time.Hour
	// DefaultRetainReplaced is the rollback window by default
	// (RETAIN_REPLACED): a day to roll a replacement back.
	DefaultRetainReplaced = 24 * time.Hour
	// DefaultMinAge is how old a snapshot must be, by default, before the
	// cleanup deletes it (MIN_AGE).
	DefaultMinAge = time.Hour
	// DefaultRetainOrphaned is how long a suite snapshot whose source
	// volume is gone is kept by default (RETAIN_ORPHANED): a week to notice
	// an accidental delete or termination.
	DefaultRetainOrphaned = 7 * 24 * time.Hour
	// InvocationTTL is how long an invocation's item lives: longer than
	// Lambda keeps an asynchronous event (6 hours at most) and EventBridge
	// retries one (24 hours).
	InvocationTTL = 7 * 24 * time.Hour
)

// Replacement is the record of one replacement the suite started.
type Replacement struct {
	ID                   string `dynamodbav:"id"`
	Kind                 string `dynamodbav:"kind"`
	ClientToken          string `dynamodbav:"clientToken"`
	InstanceID           string `dynamodbav:"instanceId"`
	ReplacedVolumeID     string `dynamodbav:"replacedVolumeId"`
	RestoreTo            string `dynamodbav:"restoreTo"`
	SnapshotID           string `dynamodbav:"snapshotId,omitempty"`
	DeleteReplacedVolume bool   `dynamodbav:"deleteReplacedVolume"`
	// VolumeInitializationRate is the rate (MiB/s) asked of EC2, if any. It
	// is not sealed: it decides no delete, and EC2 checks its range.
	VolumeInitializationRate *int64     `dynamodbav:"volumeInitializationRate,omitempty"`
	RequestedBy              string     `dynamodbav:"requestedBy"`
	RequestedAt              time.Time  `dynamodbav:"requestedAt"`
	TaskID                   string     `dynamodbav:"taskId,omitempty"`
	State                    string     `dynamodbav:"state"`
	Reason                   string     `dynamodbav:"reason,omitempty"`
	TaskStartedAt            *time.Time `dynamodbav:"taskStartedAt,omitempty"`
	CompletedAt              *time.Time `dynamodbav:"completedAt,omitempty"`
	UpdatedAt                time.Time  `dynamodbav:"updatedAt"`
	ExpiresAt                time.Time  `dynamodbav:"expiresAt,unixtime"`
	// MAC seals the deciding fields (seal.go); Trust is what it said when
	// the record was read.
	MAC   string `dynamodbav:"mac,omitempty"`
	Trust Trust  `dynamodbav:"-"`
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
	MAC           string    `dynamodbav:"mac,omitempty"`
	Trust         Trust     `dynamodbav:"-"`
}

// Rollback is a replaced root volume seen again as an instance's root
// after its task: that task never decides its delete again.
type Rollback struct {
	ID         string    `dynamodbav:"id"`
	Kind       string    `dynamodbav:"kind"`
	VolumeID   string    `dynamodbav:"volumeId"`
	TaskID     string    `dynamodbav:"taskId"`     // the task that had replaced it
	InstanceID string    `dynamodbav:"instanceId"` // whose root it was seen as
	SeenAt     time.Time `dynamodbav:"seenAt"`
	ExpiresAt  time.Time `dynamodbav:"expiresAt,unixtime"`
	MAC        string    `dynamodbav:"mac,omitempty"`
	Trust      Trust     `dynamodbav:"-"`
}

// Orphan is when the cleanup first saw a suite snapshot whose source
// volume is gone.
type Orphan struct {
	ID         string    `dynamodbav:"id"`
	Kind       string    `dynamodbav:"kind"`
	SnapshotID string    `dynamodbav:"snapshotId"`
	VolumeID   string    `dynamodbav:"volumeId"`
	FirstSeen  time.Time `dynamodbav:"firstSeen"`
	ExpiresAt  time.Time `dynamodbav:"expiresAt,unixtime"`
	MAC        string    `dynamodbav:"mac,omitempty"`
	Trust      Trust     `dynamodbav:"-"`
}

// invocationItem ties an invocation to the replacement it recorded.
type invocationItem struct {
	ID          string    `dynamodbav:"id"`
	Kind        string    `dynamodbav:"kind"`
	ClientToken string    `dynamodbav:"clientToken"`
	At          time.Time `dynamodbav:"at"`
	ExpiresAt   time.Time `dynamodbav:"expiresAt,unixtime"`
	MAC         string    `dynamodbav:"mac,omitempty"`
}

// Notice is when people were last told the cleanup refused a resource.
type Notice struct {
	ID         string    `dynamodbav:"id"`
	Kind       string    `dynamodbav:"kind"`
	ResourceID string    `dynamodbav:"resourceId"`
	Reason     string    `dynamodbav:"reason"` // the reason, without its details
	ToldAt     time.Time `dynamodbav:"toldAt"`
	ExpiresAt  time.Time `dynamodbav:"expiresAt,unixtime"`
	// A forged notice would silence a refusal, or the report of a forged
	// record: only a sealed one counts.
	MAC   string `dynamodbav:"mac,omitempty"`
	Trust Trust  `dynamodbav:"-"`
}

// NoticeTTL is how long a notice is kept after it was told: it only has to
// outlast the time between reminders.
const NoticeTTL = 7 * 24 * time.Hour

// Records is the table's content as the cleanup reads it.
type Records struct {
	Replacements []Replacement
	Roots        []RootObservation
	Rollbacks    []Rollback
	Orphans      []Orphan
	// Notices are the refusals people were told of, by resource ID.
	Notices map[string]Notice
}

// Store reads and writes the replacements table.
type Store struct {
	DB    tableAPI
	Table string
	// Sealer makes and checks the records' MACs (PROOF_KEY_ARN); without
	// one nothing is written and nothing is trusted.
	Sealer *proof.Sealer
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
	item, err := s.marshalReplacement(ctx, &r)
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

// marshalReplacement seals the record and marshals it.
func (s *Store) marshalReplacement(ctx context.Context, r *Replacement) (map[string]types.AttributeValue, error) {
	mac, err := s.seal(ctx, sealReplacement, r.fields())
	if err != nil {
		return nil, err
	}
	r.MAC, r.Trust = mac, Trusted
	return attributevalue.MarshalMap(r)
}

// UpdateReplacement overwrites an existing record (state, task, outcome),
// sealed anew. It never creates one: a record starts only with
// PutNewReplacement.
func (s *Store) UpdateReplacement(ctx context.Context, r Replacement) error {
	item, err := s.marshalReplacement(ctx, &r)
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
	inv := invocationItem{ID: invocationPrefix + key, Kind: KindInvocation, ClientToken: clientToken, At: at, ExpiresAt: at.Add(InvocationTTL)}
	mac, err := s.seal(ctx, sealInvocation, inv.fields())
	if err != nil {
		return fmt.Errorf("record invocation %s: %w", key, err)
	}
	inv.MAC = mac
	item, err := attributevalue.MarshalMap(inv)
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
		mac, err := s.seal(ctx, sealNotice, n.fields())
		n.MAC = mac
		var item map[string]types.AttributeValue
		if err == nil {
			item, err = attributevalue.MarshalMap(n)
		}
		if err == nil {
			_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item})
		}
		if err != nil {
			return fmt.Errorf("record refusal notice of %s: %w", n.ResourceID, err)
		}
	}
	return nil
}

// ClaimNotice records, once, that people are told of n (ResourceID,
// Reason and ToldAt set): it reports false, writing nothing, when a notice
// of that resource is already recorded, so that whoever claims it first is
// the one who tells. The notice expires after NoticeTTL, and the claim
// can be made again.
func (s *Store) ClaimNotice(ctx context.Context, n Notice) (bool, error) {
	n.ID, n.Kind, n.ExpiresAt = noticePrefix+n.ResourceID, KindNotice, n.ToldAt.Add(NoticeTTL)
	mac, err := s.seal(ctx, sealNotice, n.fields())
	if err != nil {
		return false, fmt.Errorf("seal notice of %s: %w", n.ResourceID, err)
	}
	n.MAC = mac
	item, err := attributevalue.MarshalMap(n)
	if err != nil {
		return false, fmt.Errorf("record notice of %s: %w", n.ResourceID, err)
	}
	_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("record notice of %s: %w", n.ResourceID, err)
	}
	return true, nil
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
	// A forged invocation item would tie this invocation to another
	// replacement, whose root the retry would then label.
	t, err := s.check(ctx, sealInvocation, inv.MAC, inv.fields())
	if err != nil {
		return Replacement{}, false, fmt.Errorf("read invocation %s: %w", key, err)
	}
	if t != Trusted {
		return Replacement{}, false, untrusted("invocation record "+inv.ID, t)
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
	if err := s.CheckReplacement(ctx, &r); err != nil {
		return r, fmt.Errorf("read replacement record: %w", err)
	}
	if r.Trust != Trusted {
		return r, untrusted("replacement record "+r.ID, r.Trust)
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
	mac, err := s.seal(ctx, sealRoot, o.fields())
	if err != nil {
		return fmt.Errorf("record root volume %s: %w", o.VolumeID, err)
	}
	o.MAC = mac
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
// The records come unchecked: the cleanup verifies those that decide
// something (Cleaner.verify), not every record of the last 400 days.
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
			case KindRollback:
				var r Rollback
				if err := attributevalue.UnmarshalMap(item, &r); err != nil {
					return recs, fmt.Errorf("read rollback record: %w", err)
				}
				recs.Rollbacks = append(recs.Rollbacks, r)
			case KindOrphan:
				var o Orphan
				if err := attributevalue.UnmarshalMap(item, &o); err != nil {
					return recs, fmt.Errorf("read orphan record: %w", err)
				}
				recs.Orphans = append(recs.Orphans, o)
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

// PutRollback records, sealed, that a replaced root volume was seen again
// as an instance's root. The first record of a volume and task stands.
func (s *Store) PutRollback(ctx context.Context, r Rollback) error {
	r.ID, r.Kind = rollbackPrefix+r.VolumeID+"#"+r.TaskID, KindRollback
	r.ExpiresAt = r.SeenAt.Add(RecordTTL)
	mac, err := s.seal(ctx, sealRollback, r.fields())
	if err != nil {
		return fmt.Errorf("record rollback of %s: %w", r.VolumeID, err)
	}
	r.MAC = mac
	return s.putSealed(ctx, r, r.ID)
}

// PutOrphan records, sealed, when a suite snapshot was first seen orphaned.
// It replaces a record that did not verify (the clock starts again: the
// safe direction).
func (s *Store) PutOrphan(ctx context.Context, o Orphan) error {
	o.ID, o.Kind = orphanPrefix+o.SnapshotID, KindOrphan
	o.ExpiresAt = o.FirstSeen.Add(RecordTTL)
	mac, err := s.seal(ctx, sealOrphan, o.fields())
	if err != nil {
		return fmt.Errorf("record orphaned snapshot %s: %w", o.SnapshotID, err)
	}
	o.MAC = mac
	return s.putSealed(ctx, o, o.ID)
}

func (s *Store) putSealed(ctx context.Context, v any, id string) error {
	item, err := attributevalue.MarshalMap(v)
	if err == nil {
		_, err = s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item})
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", id, err)
	}
	return nil
}
