package approval

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/ebs-ops/lambda-suite/shared/proof"
)

// The table (DECISIONS_TABLE) has a string partition key "id", no sort key,
// and TTL on the number attribute "expiresAt". It holds three kinds of item,
// told apart by the prefix of id:
//
//	image#<image ARN>      the build's claim: one request and one email per build
//	step#<step execution ID> a waiting step's claim (the workflow flow, stepstore.go)
//	request#<token hash>   the approval request and its decision
//	audit#<ref>#<time>#<n> one decision attempt; no expiresAt, so never expired
//
// Times are stored as fixed-width UTC strings (timeLayout), which compare in
// condition expressions as they sort, and read well in the console.
const (
	claimPrefix   = "image#"
	requestPrefix = "request#"
	auditPrefix   = "audit#"
	timeLayout    = "2006-01-02T15:04:05Z"
)

// keepAfterExpiry is how long a request outlives its link before DynamoDB's
// TTL deletes it: an expired link answers 410, not 404, and a decision stays
// visible, for that long. Audit items are kept regardless.
const keepAfterExpiry = 30 * 24 * time.Hour

// Request is one build's approval request as stored.
type Request struct {
	id        string // requestPrefix + token hash; never shown
	Ref       string // a public reference for people and logs (crypto/rand.Text: 26 base32 characters)
	ImageARN  string
	ImageName string
	Version   string
	AMIs      []AMI
	// Targets are fixed when the request is made: the approver approves what
	// the email and the page show, whatever the configuration says later.
	Targets       Targets
	CreatedAt     time.Time
	LinkExpiresAt time.Time

	Decision  string // "", Approve or Reject
	DecidedAt time.Time
	DecidedBy Who
	Outcome   string // an Outcome* constant once decided
	Reason    string // why refused or failed
	// KeyNotes name the customer managed KMS keys the targets need.
	KeyNotes []string
	// Shared are the AMIs that may carry the targets' launch permission:
	// all of them once shared; after a failure or refusal, those whose
	// sharing could not be undone. Unshared are AMIs shared and then undone
	// (see Decider.share).
	Shared    []AMI
	Unshared  []AMI
	UpdatedAt time.Time
	// lease names the one invocation that may share and record while the
	// outcome is "sharing": each write of that invocation is conditional on
	// it, so a sweeper or a retry that took over is never overwritten.
	lease string
	// requestMAC and stateMAC are the record's seals (see seal.go).
	requestMAC, stateMAC string

	// Named requests (named.go, namedstore.go): who may decide, how many
	// distinct approvers must approve, and their votes so far. Approver is
	// the approver whose link opened the request (zero for the request's
	// own token, which a named request never sends).
	Approvers []Approver
	Quorum    int
	Votes     []Vote
	Approver  Approver
	tickets   []ticket // made with the request, written with it
}

// Decided says whether a decision is recorded.
func (r Request) Decided() bool { return r.Decision != "" }

// Stopped says whether an approval was left "sharing" for longer than its
// lease at now: the invocation that shared it stopped before it finished.
func (r Request) Stopped(now time.Time) bool {
	return r.Outcome == OutcomeSharing && r.UpdatedAt.Before(now.Add(-SharingLease))
}

// Expired says whether the link no longer works at now.
func (r Request) Expired(now time.Time) bool { return !now.Before(r.LinkExpiresAt) }

// Store keeps requests, claims and audit records in the decisions table.
type Store struct {
	DB    tableAPI
	Table string
	// Proof seals the request records and checks their seals (seal.go).
	Proof *proof.Sealer
}

// errConflict: a conditional write found the item in another state.
var errConflict = errors.New("conditional write lost")

// claim is the claim item of a build (claimPrefix: the SNS flow) or of a
// waiting step (stepClaimPrefix: the workflow flow): whoever holds it makes
// the one request and sends the one email. Both flows claim, publish, and
// then mark it sent or give it back, through the same methods.
type claim struct {
	ImageARN        string
	StepExecutionID string // the waiting step's; "" for a build's claim
	ClaimID         string // who holds it: a random ID per attempt
	RequestID       string // the request item, for an AVAILABLE build or a step
	ClaimedAt       time.Time
	NotifiedAt      time.Time // zero until the email or notice is published
}

// key is the claim item's id.
func (c claim) key() string {
	if c.StepExecutionID != "" {
		return stepClaimPrefix + c.StepExecutionID
	}
	return claimPrefix + c.ImageARN
}

// String names the claim in errors and logs: "build <ARN>" or "step <ID>".
func (c claim) String() string {
	if c.StepExecutionID != "" {
		return "step " + c.StepExecutionID
	}
	return "build " + c.ImageARN
}

// logAttr names the claim in logs: its build's ARN or its step's ID.
func (c claim) logAttr() slog.Attr {
	if c.StepExecutionID != "" {
		return slog.String("stepExecutionId", c.StepExecutionID)
	}
	return slog.String("imageArn", c.ImageARN)
}

// createClaim writes the claim and, for an AVAILABLE build or a step, its
// request (bound to st when not nil), in one transaction. errConflict: the
// build or step has a claim already.
func (s *Store) createClaim(ctx context.Context, c claim, req *Request, st *Step) error {
	items := []types.TransactWriteItem{s.putNew(marshal(newClaimItem(c, req)))}
	return s.transactClaim(ctx, fmt.Sprintf("claim %s", c), items, req, st)
}

// transactClaim writes a claim's transaction, items and the put of its new
// request, if any (bound to st when not nil). errConflict: a condition
// failed.
func (s *Store) transactClaim(ctx context.Context, what string, items []types.TransactWriteItem, req *Request, st *Step) error {
	if req != nil {
		reqAV, err := requestAV(*req, st)
		if err != nil {
			return err
		}
		items = append(items, s.putNew(reqAV))
		for _, tk := range req.tickets {
			items = append(items, s.putNew(tk.item()))
		}
	}
	if _, err := s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}); err != nil {
		return fmt.Errorf("%s: %w", what, conflict(err))
	}
	return nil
}

// putNew is a transaction's write of an item whose id no item has yet.
func (s *Store) putNew(item map[string]types.AttributeValue) types.TransactWriteItem {
	return types.TransactWriteItem{Put: &types.Put{
		TableName:           aws.String(s.Table),
		Item:                item,
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	}}
}

// takeOverClaim replaces a claim whose holder never published (it failed or
// timed out): the old request, whose token left no trace, is deleted and the
// new one written. errConflict: someone else took it over, or it was
// published meanwhile.
func (s *Store) takeOverClaim(ctx context.Context, old claim, c claim, req *Request, st *Step) error {
	update := &types.Update{
		TableName:           aws.String(s.Table),
		Key:                 key(c.key()),
		UpdateExpression:    aws.String("SET claimId = :new, claimedAt = :now REMOVE requestId"),
		ConditionExpression: aws.String("claimId = :old AND attribute_not_exists(notifiedAt)"),
		ExpressionAttributeValues: values(map[string]any{
			":new": c.ClaimID, ":old": old.ClaimID, ":now": stamp(c.ClaimedAt),
		}),
	}
	if req != nil {
		update.UpdateExpression = aws.String("SET claimId = :new, claimedAt = :now, requestId = :req, expiresAt = :expires")
		update.ExpressionAttributeValues[":req"] = &types.AttributeValueMemberS{Value: req.id}
		// The claim lives as long as its new request.
		update.ExpressionAttributeValues[":expires"] = &types.AttributeValueMemberN{Value: strconv.FormatInt(newClaimItem(c, req).ExpiresAt.Unix(), 10)}
	}
	items := []types.TransactWriteItem{{Update: update}}
	if old.RequestID != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{
			TableName: aws.String(s.Table),
			Key:       key(old.RequestID),
			// Never delete a request someone has decided on.
			ConditionExpression: aws.String("attribute_not_exists(decision)"),
		}})
	}
	return s.transactClaim(ctx, fmt.Sprintf("take over claim of %s", c), items, req, st)
}

// getClaim reads the claim item id (claim.key); the zero claim when none.
func (s *Store) getClaim(ctx context.Context, id string) (claim, error) {
	item, err := s.get(ctx, id)
	if err != nil || item == nil {
		return claim{}, err
	}
	var it claimItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return claim{}, fmt.Errorf("read %s: %w", kindOf(id), err)
	}
	return claim{
		ImageARN:        it.ImageARN,
		StepExecutionID: it.StepExecutionID,
		ClaimID:         it.ClaimID,
		RequestID:       it.RequestID,
		ClaimedAt:       time.Time(it.ClaimedAt),
		NotifiedAt:      it.NotifiedAt.time(),
	}, nil
}

// markNotified records that the claim's email or notice is out, which makes
// every later delivery of the message or event a duplicate.
func (s *Store) markNotified(ctx context.Context, c claim, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(c.key()),
		UpdateExpression:          aws.String("SET notifiedAt = :now"),
		ConditionExpression:       aws.String("claimId = :id"),
		ExpressionAttributeValues: values(map[string]any{":now": stamp(now), ":id": c.ClaimID}),
	})
	if err != nil {
		return fmt.Errorf("mark %s notified: %w", c, conflict(err))
	}
	return nil
}

// releaseClaim gives the claim back after a failed publish: the next
// delivery takes it over at once, instead of waiting for the lease.
func (s *Store) releaseClaim(ctx context.Context, c claim) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(c.key()),
		UpdateExpression:          aws.String("SET claimedAt = :epoch"),
		ConditionExpression:       aws.String("claimId = :id AND attribute_not_exists(notifiedAt)"),
		ExpressionAttributeValues: values(map[string]any{":epoch": stamp(time.Unix(0, 0)), ":id": c.ClaimID}),
	})
	if err != nil {
		return fmt.Errorf("release claim of %s: %w", c, conflict(err))
	}
	return nil
}

// recordDecision stores the first decision on a live request, with req's
// lease when it starts sharing, sealed. A request of the version before
// sealing (no requestMac) is sealed as it was read, after the checks that
// decided it. st is the step a request is bound to, or nil. errConflict:
// decided already, expired, or gone.
func (s *Store) recordDecision(ctx context.Context, req Request, st *Step, now time.Time) error {
	req.UpdatedAt = now
	stateMAC, err := s.sealState(ctx, req)
	if err != nil {
		return err
	}
	update := "SET decision = :decision, outcome = :outcome, reason = :reason, " +
		"decidedAt = :at, updatedAt = :at, sourceIp = :ip, userAgent = :ua, leaseId = :lease, stateMac = :state"
	if req.DecidedBy.Approver != "" {
		update += ", approver = :approver"
	}
	vals := map[string]any{
		":decision": req.Decision, ":outcome": req.Outcome, ":reason": req.Reason,
		":at": stamp(now), ":ip": req.DecidedBy.SourceIP, ":ua": req.DecidedBy.UserAgent,
		":lease": req.lease, ":state": stateMAC,
	}
	if req.DecidedBy.Approver != "" {
		vals[":approver"] = req.DecidedBy.Approver
	}
	if req.requestMAC == "" {
		requestMAC, err := s.sealRequest(ctx, req, st)
		if err != nil {
			return err
		}
		update += ", requestMac = :request"
		vals[":request"] = requestMAC
	}
	values := values(vals)
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(s.Table),
		Key:              key(req.id),
		UpdateExpression: aws.String(update),
		// The first decision wins: the write happens only while none is
		// recorded and the link is live.
		ConditionExpression:       aws.String("attribute_exists(id) AND attribute_not_exists(decision) AND linkExpiresAt > :at"),
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("record decision on %s: %w", req.Ref, conflict(err))
	}
	return nil
}

// resumeSharing takes an approved request whose sharing failed, or stopped
// before staleBefore, back to sharing under req's (new) lease: only one
// taker wins. The approver may resume only while the link is live; the
// sweeper (sweep) only a stopped share, link or not, since the approval
// itself was given in time. errConflict: nothing to resume.
func (s *Store) resumeSharing(ctx context.Context, req Request, now, staleBefore time.Time, sweep bool) error {
	req.Outcome, req.UpdatedAt = OutcomeSharing, now
	stateMAC, err := s.sealState(ctx, req)
	if err != nil {
		return err
	}
	cond := "decision = :approve AND linkExpiresAt > :now AND (outcome = :failed OR (outcome = :sharing AND updatedAt < :stale))"
	values := values(map[string]any{
		":sharing": OutcomeSharing, ":failed": OutcomeFailed, ":approve": Approve,
		":empty": "", ":now": stamp(now), ":stale": stamp(staleBefore), ":lease": req.lease, ":state": stateMAC,
	})
	if sweep {
		cond = "decision = :approve AND outcome = :sharing AND updatedAt < :stale"
		delete(values, ":failed")
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(req.id),
		UpdateExpression:          aws.String("SET outcome = :sharing, reason = :empty, updatedAt = :now, leaseId = :lease, stateMac = :state"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeValues: values,
	})
	if err != nil {
		return fmt.Errorf("resume sharing of %s: %w", req.Ref, conflict(err))
	}
	return nil
}

// markSharing records, before an AMI is shared, that it may carry the
// targets' permission from now on: a share cut off at any point leaves a
// record that says at least what is shared. errConflict: the lease is lost.
func (s *Store) markSharing(ctx context.Context, req Request, now time.Time) error {
	req.UpdatedAt = now
	stateMAC, err := s.sealState(ctx, req)
	if err != nil {
		return err
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 key(req.id),
		UpdateExpression:    aws.String("SET sharedAmis = :shared, unsharedAmis = :unshared, updatedAt = :now, stateMac = :state"),
		ConditionExpression: aws.String("outcome = :sharing AND leaseId = :lease"),
		ExpressionAttributeValues: values(map[string]any{
			":shared": amiItems(req.Shared), ":unshared": amiItems(req.Unshared), ":now": stamp(now),
			":sharing": OutcomeSharing, ":lease": req.lease, ":state": stateMAC,
		}),
	})
	if err != nil {
		return fmt.Errorf("record sharing of %s: %w", req.Ref, conflict(err))
	}
	return nil
}

// staleSharing lists the approvals left "sharing" since before staleBefore:
// their invocation stopped. The table is small (a few items a build), so
// a filtered scan serves; it reads every page.
func (s *Store) staleSharing(ctx context.Context, staleBefore time.Time) ([]Request, error) {
	p := dynamodb.NewScanPaginator(s.DB, &dynamodb.ScanInput{
		TableName:        aws.String(s.Table),
		ConsistentRead:   aws.Bool(true),
		FilterExpression: aws.String("kind = :request AND outcome = :sharing AND updatedAt < :stale"),
		ExpressionAttributeValues: values(map[string]any{
			":request": "request", ":sharing": OutcomeSharing, ":stale": stamp(staleBefore),
		}),
	})
	var out []Request
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find stopped approvals: %w", err)
		}
		for _, item := range page.Items {
			var it requestItem
			if err := attributevalue.UnmarshalMap(item, &it); err != nil {
				return nil, fmt.Errorf("find stopped approvals: %w", err)
			}
			out = append(out, it.request())
		}
	}
	return out, nil
}

// finishSharing records how sharing ended, if req's lease still holds.
func (s *Store) finishSharing(ctx context.Context, req Request, now time.Time) error {
	req.UpdatedAt = now
	stateMAC, err := s.sealState(ctx, req)
	if err != nil {
		return err
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table),
		Key:       key(req.id),
		UpdateExpression: aws.String("SET outcome = :outcome, reason = :reason, keyNotes = :notes, " +
			"sharedAmis = :shared, unsharedAmis = :unshared, updatedAt = :now, stateMac = :state"),
		ConditionExpression: aws.String("outcome = :sharing AND leaseId = :lease"),
		ExpressionAttributeValues: values(map[string]any{
			":outcome": req.Outcome, ":reason": req.Reason, ":notes": append([]string{}, req.KeyNotes...),
			":shared": amiItems(req.Shared), ":unshared": amiItems(req.Unshared),
			":now": stamp(now), ":sharing": OutcomeSharing, ":lease": req.lease, ":state": stateMAC,
		}),
	})
	if err != nil {
		return fmt.Errorf("record outcome of %s: %w", req.Ref, conflict(err))
	}
	return nil
}

// markTamperReported marks a request item refused as tampered as told to
// the ops topic. errConflict: told already (or the item is gone).
func (s *Store) markTamperReported(ctx context.Context, id string, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table), Key: key(id),
		UpdateExpression:          aws.String("SET tamperReportedAt = :now"),
		ConditionExpression:       aws.String("attribute_exists(id) AND attribute_not_exists(tamperReportedAt)"),
		ExpressionAttributeValues: values(map[string]any{":now": stamp(now)}),
	})
	if err != nil {
		return fmt.Errorf("mark %s reported: %w", kindOf(id), conflict(err))
	}
	return nil
}

// Audit is one decision attempt on a known request: who, when, what, and
// what came of it.
type Audit struct {
	Ref      string
	ImageARN string
	Action   string // Approve or Reject, as submitted
	Who      Who
	At       time.Time
	Outcome  string // the request's outcome after the attempt, or "expired", "error: …"
	Repeated bool   // the request was decided before this attempt
	AMIs     []AMI
	Targets  Targets
	// Shared and Unshared are the request's after the attempt.
	Shared, Unshared []AMI
	// Checked are the AMIs as EC2 reported them when the attempt checked
	// them (names and creation dates), never the message's.
	Checked []AMI
}

func (s *Store) putAudit(ctx context.Context, a Audit) error {
	item := auditItem{
		ID:   auditPrefix + a.Ref + "#" + a.At.UTC().Format(time.RFC3339Nano) + "#" + rand.Text(),
		Kind: "audit", RequestRef: a.Ref, ImageARN: a.ImageARN, Action: a.Action,
		SourceIP: a.Who.SourceIP, UserAgent: a.Who.UserAgent, At: storedTime(a.At),
		Outcome: a.Outcome, Repeated: a.Repeated, AMIs: append([]string{}, amiNames(a.AMIs)...),
		TargetAccounts: append([]string{}, a.Targets.Accounts...), TargetOrganizations: append([]string{}, a.Targets.Organizations...), TargetOUs: append([]string{}, a.Targets.OUs...),
		Shared: orNil(amiNames(a.Shared)), Unshared: orNil(amiNames(a.Unshared)), // left out when none
	}
	for _, c := range a.Checked {
		item.EC2AMIs = append(item.EC2AMIs, amiLine(c))
	}
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: marshal(item),
		ConditionExpression: aws.String("attribute_not_exists(id)"),
	})
	if err != nil {
		return fmt.Errorf("audit %s %s: %w", a.Action, a.Ref, err)
	}
	return nil
}

// get reads an item strongly consistently (a decision just written must be
// seen), or nil when there is none.
func (s *Store) get(ctx context.Context, id string) (map[string]types.AttributeValue, error) {
	out, err := s.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.Table), Key: key(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", kindOf(id), err)
	}
	if len(out.Item) == 0 {
		return nil, nil
	}
	return out.Item, nil
}

// kindOf names an item in errors without its key: a request's key is the
// token's hash, which stays out of logs.
func kindOf(id string) string {
	for _, p := range []string{claimPrefix, stepClaimPrefix} {
		if subject, ok := strings.CutPrefix(id, p); ok {
			return "claim " + subject
		}
	}
	for _, p := range []string{requestPrefix, auditPrefix} {
		if strings.HasPrefix(id, p) {
			return p[:len(p)-1]
		}
	}
	return "item"
}

// The items, as tagged structs: each attribute is named once, here, and
// attributevalue marshals them. The shapes are those deployed tables hold
// (testdata/items.json): times as storedTime, lists as lists (empty, not
// NULL, when there is nothing in them), expiresAt as epoch seconds.

// claimItem is a build's claim (claimPrefix) or a waiting step's
// (stepClaimPrefix).
type claimItem struct {
	ID              string      `dynamodbav:"id"`
	Kind            string      `dynamodbav:"kind"` // "build" or "step"
	StepExecutionID string      `dynamodbav:"stepExecutionId,omitempty"`
	ImageARN        string      `dynamodbav:"imageArn"`
	ClaimID         string      `dynamodbav:"claimId"`
	ClaimedAt       storedTime  `dynamodbav:"claimedAt"`
	RequestID       string      `dynamodbav:"requestId,omitempty"`
	NotifiedAt      *storedTime `dynamodbav:"notifiedAt,omitempty"` // set by markNotified
	ExpiresAt       time.Time   `dynamodbav:"expiresAt,unixtime"`
}

// requestItem is an approval request (requestPrefix). The fields after
// ExpiresAt are written by the updates, never when the item is made.
type requestItem struct {
	ID                  string      `dynamodbav:"id"`
	Kind                string      `dynamodbav:"kind"` // "request"
	Ref                 string      `dynamodbav:"ref"`
	ImageARN            string      `dynamodbav:"imageArn"`
	ImageName           string      `dynamodbav:"imageName"`
	Version             string      `dynamodbav:"imageVersion"`
	AMIs                []amiItem   `dynamodbav:"amis"`
	TargetAccounts      []string    `dynamodbav:"targetAccounts"`
	TargetOrganizations []string    `dynamodbav:"targetOrganizations"`
	TargetOUs           []string    `dynamodbav:"targetOus"`
	CreatedAt           storedTime  `dynamodbav:"createdAt"`
	UpdatedAt           storedTime  `dynamodbav:"updatedAt"`
	LinkExpiresAt       storedTime  `dynamodbav:"linkExpiresAt"`
	ExpiresAt           time.Time   `dynamodbav:"expiresAt,unixtime"`
	Decision            string      `dynamodbav:"decision,omitempty"`
	DecidedAt           *storedTime `dynamodbav:"decidedAt,omitempty"`
	SourceIP            string      `dynamodbav:"sourceIp,omitempty"`
	UserAgent           string      `dynamodbav:"userAgent,omitempty"`
	Outcome             string      `dynamodbav:"outcome,omitempty"`
	Reason              string      `dynamodbav:"reason,omitempty"`
	KeyNotes            []string    `dynamodbav:"keyNotes,omitempty"`
	Shared              []amiItem   `dynamodbav:"sharedAmis,omitempty"`
	Unshared            []amiItem   `dynamodbav:"unsharedAmis,omitempty"`
	Lease               string      `dynamodbav:"leaseId,omitempty"`
	RequestMAC          string      `dynamodbav:"requestMac,omitempty"` // seal.go
	StateMAC            string      `dynamodbav:"stateMac,omitempty"`
	// Named requests only (namedstore.go).
	Approvers []Approver          `dynamodbav:"approvers,omitempty"`
	Quorum    int                 `dynamodbav:"quorum,omitempty"`
	Votes     map[string]voteItem `dynamodbav:"votes,omitempty"`
	Approver  string              `dynamodbav:"approver,omitempty"` // who decided
}

// auditItem is one decision attempt (auditPrefix); never expires.
type auditItem struct {
	ID                  string     `dynamodbav:"id"`
	Kind                string     `dynamodbav:"kind"` // "audit"
	RequestRef          string     `dynamodbav:"requestRef"`
	ImageARN            string     `dynamodbav:"imageArn"`
	Action              string     `dynamodbav:"action"`
	SourceIP            string     `dynamodbav:"sourceIp"`
	UserAgent           string     `dynamodbav:"userAgent"`
	At                  storedTime `dynamodbav:"at"`
	Outcome             string     `dynamodbav:"outcome"`
	Repeated            bool       `dynamodbav:"repeated"`
	AMIs                []string   `dynamodbav:"amis"` // region/ID
	TargetAccounts      []string   `dynamodbav:"targetAccounts"`
	TargetOrganizations []string   `dynamodbav:"targetOrganizations"`
	TargetOUs           []string   `dynamodbav:"targetOus"`
	EC2AMIs             []string   `dynamodbav:"ec2Amis,omitempty"` // amiLine of each AMI checked
	Shared              []string   `dynamodbav:"sharedAmis,omitempty"`
	Unshared            []string   `dynamodbav:"unsharedAmis,omitempty"`
}

// amiItem is an AMI in a request's lists; created is "" when unknown.
type amiItem struct {
	Region  string     `dynamodbav:"region"`
	ID      string     `dynamodbav:"id"`
	Name    string     `dynamodbav:"name"`
	Created storedTime `dynamodbav:"created"`
}

// storedTime is a time as the table holds it: a fixed-width UTC string
// (timeLayout), which compares in condition expressions as it sorts; the
// zero time is "". Reading, anything that is not such a string is the
// zero time.
type storedTime time.Time

func (t storedTime) MarshalDynamoDBAttributeValue() (types.AttributeValue, error) {
	if time.Time(t).IsZero() {
		return &types.AttributeValueMemberS{Value: ""}, nil
	}
	return &types.AttributeValueMemberS{Value: stamp(time.Time(t))}, nil
}

func (t *storedTime) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	*t = storedTime{}
	if s, ok := av.(*types.AttributeValueMemberS); ok {
		if parsed, err := time.Parse(timeLayout, s.Value); err == nil {
			*t = storedTime(parsed)
		}
	}
	return nil
}

func (t *storedTime) time() time.Time {
	if t == nil {
		return time.Time{}
	}
	return time.Time(*t)
}

func newClaimItem(c claim, req *Request) claimItem {
	item := claimItem{
		ID: c.key(), Kind: "build", StepExecutionID: c.StepExecutionID, ImageARN: c.ImageARN, ClaimID: c.ClaimID,
		ClaimedAt: storedTime(c.ClaimedAt), ExpiresAt: c.ClaimedAt.Add(MaxLinkTTL + keepAfterExpiry),
	}
	if req != nil {
		item.RequestID, item.ExpiresAt = req.id, req.LinkExpiresAt.Add(keepAfterExpiry)
	}
	if c.StepExecutionID != "" {
		item.Kind = "step"
	}
	return item
}

func newRequestItem(r Request) requestItem {
	return requestItem{
		ID: r.id, Kind: "request", Ref: r.Ref, ImageARN: r.ImageARN, ImageName: r.ImageName, Version: r.Version,
		AMIs:           amiItems(r.AMIs),
		TargetAccounts: append([]string{}, r.Targets.Accounts...), TargetOrganizations: append([]string{}, r.Targets.Organizations...), TargetOUs: append([]string{}, r.Targets.OUs...),
		CreatedAt: storedTime(r.CreatedAt), UpdatedAt: storedTime(r.CreatedAt), LinkExpiresAt: storedTime(r.LinkExpiresAt),
		ExpiresAt:  r.LinkExpiresAt.Add(keepAfterExpiry),
		RequestMAC: r.requestMAC,
		Approvers:  r.Approvers, Quorum: r.Quorum,
	}
}

func (it requestItem) request() Request {
	return Request{
		id: it.ID, Ref: it.Ref, ImageARN: it.ImageARN, ImageName: it.ImageName, Version: it.Version,
		Targets:       Targets{Accounts: orNil(it.TargetAccounts), Organizations: orNil(it.TargetOrganizations), OUs: orNil(it.TargetOUs)},
		CreatedAt:     time.Time(it.CreatedAt),
		LinkExpiresAt: time.Time(it.LinkExpiresAt),
		Decision:      it.Decision,
		DecidedAt:     it.DecidedAt.time(),
		DecidedBy:     Who{SourceIP: it.SourceIP, UserAgent: it.UserAgent, Approver: it.Approver},
		Outcome:       it.Outcome,
		Reason:        it.Reason,
		KeyNotes:      orNil(it.KeyNotes),
		AMIs:          amis(it.AMIs),
		Shared:        amis(it.Shared),
		Unshared:      amis(it.Unshared),
		UpdatedAt:     time.Time(it.UpdatedAt),
		lease:         it.Lease,
		requestMAC:    it.RequestMAC,
		stateMAC:      it.StateMAC,
		Approvers:     orNil(it.Approvers),
		Quorum:        it.Quorum,
		Votes:         votes(it.Votes),
	}
}

// parseRequestItem reads a request item. id is the key it was read by.
func parseRequestItem(id string, item map[string]types.AttributeValue) (Request, error) {
	var it requestItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Request{}, fmt.Errorf("read request item: %w", err)
	}
	r := it.request()
	r.id = id
	return r, nil
}

func amiItems(in []AMI) []amiItem {
	out := make([]amiItem, len(in))
	for i, a := range in {
		out[i] = amiItem{Region: a.Region, ID: a.ID, Name: a.Name, Created: storedTime(a.Created)}
	}
	return out
}

func amis(in []amiItem) []AMI {
	var out []AMI
	for _, a := range in {
		out = append(out, AMI{Region: a.Region, ID: a.ID, Name: a.Name, Created: time.Time(a.Created)})
	}
	return out
}

// orNil is s, or nil when it is empty: an empty list reads as none. The
// lists the table holds even when empty are written as append([]string{},
// s...), so the table has an empty list there, not NULL.
func orNil[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// marshal is attributevalue.MarshalMap for the store's own item types,
// which always marshal.
func marshal(item any) map[string]types.AttributeValue {
	m, err := attributevalue.MarshalMap(item)
	if err != nil {
		panic(fmt.Sprintf("approval: marshal %T: %v", item, err)) // a programming error: the item types marshal
	}
	return m
}

// values marshals an expression's values; each is a string, a storedTime
// or a list.
func values(v map[string]any) map[string]types.AttributeValue { return marshal(v) }

// conflict turns DynamoDB's refusals of a condition into errConflict.
func conflict(err error) error {
	var cond *types.ConditionalCheckFailedException
	if errors.As(err, &cond) {
		return fmt.Errorf("%w: %v", errConflict, err)
	}
	var canceled *types.TransactionCanceledException
	if errors.As(err, &canceled) {
		for _, r := range canceled.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return fmt.Errorf("%w: %v", errConflict, err)
			}
		}
	}
	return err
}

func key(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
}

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }
