package approval

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The table (DECISIONS_TABLE) has a string partition key "id", no sort key,
// and TTL on the number attribute "expiresAt". It holds three kinds of item,
// told apart by the prefix of id:
//
//	image#<image ARN>      the build's claim: one request and one email per build
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
	Ref       string // a public reference for people and logs
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
}

// errConflict: a conditional write found the item in another state.
var errConflict = errors.New("conditional write lost")

// claim is a build's claim item.
type claim struct {
	ImageARN   string
	ClaimID    string // who holds it: a random ID per attempt
	RequestID  string // the request item, for an AVAILABLE build
	ClaimedAt  time.Time
	NotifiedAt time.Time // zero until the email or notice is published
}

// createClaim writes the build's claim and, for an AVAILABLE build, its
// request, in one transaction. errConflict: the build has a claim already.
func (s *Store) createClaim(ctx context.Context, c claim, req *Request) error {
	items := []types.TransactWriteItem{s.putNew(claimItem(c, req))}
	if req != nil {
		items = append(items, s.putNew(requestItem(*req)))
	}
	_, err := s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil {
		return fmt.Errorf("claim build %s: %w", c.ImageARN, conflict(err))
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
func (s *Store) takeOverClaim(ctx context.Context, old claim, c claim, req *Request) error {
	update := &types.Update{
		TableName:           aws.String(s.Table),
		Key:                 key(claimPrefix + c.ImageARN),
		UpdateExpression:    aws.String("SET claimId = :new, claimedAt = :now REMOVE requestId"),
		ConditionExpression: aws.String("claimId = :old AND attribute_not_exists(notifiedAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":new": str(c.ClaimID), ":old": str(old.ClaimID), ":now": str(stamp(c.ClaimedAt)),
		},
	}
	if req != nil {
		update.UpdateExpression = aws.String("SET claimId = :new, claimedAt = :now, requestId = :req")
		update.ExpressionAttributeValues[":req"] = str(req.id)
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
	if req != nil {
		items = append(items, s.putNew(requestItem(*req)))
	}
	_, err := s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if err != nil {
		return fmt.Errorf("take over claim of %s: %w", c.ImageARN, conflict(err))
	}
	return nil
}

func (s *Store) getClaim(ctx context.Context, imageARN string) (claim, error) {
	item, err := s.get(ctx, claimPrefix+imageARN)
	if err != nil || item == nil {
		return claim{}, err
	}
	return claim{
		ImageARN:   imageARN,
		ClaimID:    getS(item, "claimId"),
		RequestID:  getS(item, "requestId"),
		ClaimedAt:  getTime(item, "claimedAt"),
		NotifiedAt: getTime(item, "notifiedAt"),
	}, nil
}

// markNotified records that the claim's email or notice is out, which makes
// every later delivery of the message a duplicate.
func (s *Store) markNotified(ctx context.Context, c claim, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(claimPrefix + c.ImageARN),
		UpdateExpression:          aws.String("SET notifiedAt = :now"),
		ConditionExpression:       aws.String("claimId = :id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": str(stamp(now)), ":id": str(c.ClaimID)},
	})
	if err != nil {
		return fmt.Errorf("mark %s notified: %w", c.ImageARN, conflict(err))
	}
	return nil
}

// releaseClaim lets the next delivery take the claim over at once, instead
// of waiting for the lease, after a failed publish.
func (s *Store) releaseClaim(ctx context.Context, c claim) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(claimPrefix + c.ImageARN),
		UpdateExpression:          aws.String("SET claimedAt = :epoch"),
		ConditionExpression:       aws.String("claimId = :id AND attribute_not_exists(notifiedAt)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":epoch": str(stamp(time.Unix(0, 0))), ":id": str(c.ClaimID)},
	})
	if err != nil {
		return fmt.Errorf("release claim of %s: %w", c.ImageARN, conflict(err))
	}
	return nil
}

// Request returns the request for a token. ErrUnknownToken: none.
func (s *Store) Request(ctx context.Context, t Token) (Request, error) {
	id := requestPrefix + t.hash()
	item, err := s.get(ctx, id)
	if err != nil {
		return Request{}, err
	}
	if item == nil {
		return Request{}, ErrUnknownToken
	}
	return parseRequestItem(id, item), nil
}

// recordDecision stores the first decision on a live request, with req's
// lease when it starts sharing. errConflict: decided already, expired, or
// gone.
func (s *Store) recordDecision(ctx context.Context, req Request, now time.Time) error {
	values := map[string]types.AttributeValue{
		":decision": str(req.Decision), ":outcome": str(req.Outcome), ":reason": str(req.Reason),
		":at": str(stamp(now)), ":ip": str(req.DecidedBy.SourceIP), ":ua": str(req.DecidedBy.UserAgent),
		":lease": str(req.lease),
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table),
		Key:       key(req.id),
		UpdateExpression: aws.String("SET decision = :decision, outcome = :outcome, reason = :reason, " +
			"decidedAt = :at, updatedAt = :at, sourceIp = :ip, userAgent = :ua, leaseId = :lease"),
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
	cond := "decision = :approve AND linkExpiresAt > :now AND (outcome = :failed OR (outcome = :sharing AND updatedAt < :stale))"
	values := map[string]types.AttributeValue{
		":sharing": str(OutcomeSharing), ":failed": str(OutcomeFailed), ":approve": str(Approve),
		":empty": str(""), ":now": str(stamp(now)), ":stale": str(stamp(staleBefore)), ":lease": str(req.lease),
	}
	if sweep {
		cond = "decision = :approve AND outcome = :sharing AND updatedAt < :stale"
		delete(values, ":failed")
	}
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.Table),
		Key:                       key(req.id),
		UpdateExpression:          aws.String("SET outcome = :sharing, reason = :empty, updatedAt = :now, leaseId = :lease"),
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
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(s.Table),
		Key:                 key(req.id),
		UpdateExpression:    aws.String("SET sharedAmis = :shared, unsharedAmis = :unshared, updatedAt = :now"),
		ConditionExpression: aws.String("outcome = :sharing AND leaseId = :lease"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shared": amiList(req.Shared), ":unshared": amiList(req.Unshared), ":now": str(stamp(now)),
			":sharing": str(OutcomeSharing), ":lease": str(req.lease),
		},
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
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":request": str("request"), ":sharing": str(OutcomeSharing), ":stale": str(stamp(staleBefore)),
		},
	})
	var out []Request
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("find stopped approvals: %w", err)
		}
		for _, item := range page.Items {
			out = append(out, parseRequestItem(getS(item, "id"), item))
		}
	}
	return out, nil
}

// finishSharing records how sharing ended, if req's lease still holds.
func (s *Store) finishSharing(ctx context.Context, req Request, now time.Time) error {
	_, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Table),
		Key:       key(req.id),
		UpdateExpression: aws.String("SET outcome = :outcome, reason = :reason, keyNotes = :notes, " +
			"sharedAmis = :shared, unsharedAmis = :unshared, updatedAt = :now"),
		ConditionExpression: aws.String("outcome = :sharing AND leaseId = :lease"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":outcome": str(req.Outcome), ":reason": str(req.Reason), ":notes": strList(req.KeyNotes),
			":shared": amiList(req.Shared), ":unshared": amiList(req.Unshared),
			":now": str(stamp(now)), ":sharing": str(OutcomeSharing), ":lease": str(req.lease),
		},
	})
	if err != nil {
		return fmt.Errorf("record outcome of %s: %w", req.Ref, conflict(err))
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
	item := map[string]types.AttributeValue{
		"id":                  str(auditPrefix + a.Ref + "#" + a.At.UTC().Format(time.RFC3339Nano) + "#" + randomHex(4)),
		"kind":                str("audit"),
		"requestRef":          str(a.Ref),
		"imageArn":            str(a.ImageARN),
		"action":              str(a.Action),
		"sourceIp":            str(a.Who.SourceIP),
		"userAgent":           str(a.Who.UserAgent),
		"at":                  str(stamp(a.At)),
		"outcome":             str(a.Outcome),
		"repeated":            &types.AttributeValueMemberBOOL{Value: a.Repeated},
		"amis":                strList(amiNames(a.AMIs)),
		"targetAccounts":      strList(a.Targets.Accounts),
		"targetOrganizations": strList(a.Targets.Organizations),
		"targetOus":           strList(a.Targets.OUs),
	}
	if len(a.Checked) > 0 {
		var names []string
		for _, c := range a.Checked {
			names = append(names, amiLine(c))
		}
		item["ec2Amis"] = strList(names)
	}
	if len(a.Shared) > 0 {
		item["sharedAmis"] = strList(amiNames(a.Shared))
	}
	if len(a.Unshared) > 0 {
		item["unsharedAmis"] = strList(amiNames(a.Unshared))
	}
	_, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.Table), Item: item,
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
	if ami, ok := strings.CutPrefix(id, claimPrefix); ok {
		return "claim " + ami
	}
	for _, p := range []string{requestPrefix, auditPrefix} {
		if strings.HasPrefix(id, p) {
			return p[:len(p)-1]
		}
	}
	return "item"
}

func claimItem(c claim, req *Request) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		"id":        str(claimPrefix + c.ImageARN),
		"kind":      str("build"),
		"imageArn":  str(c.ImageARN),
		"claimId":   str(c.ClaimID),
		"claimedAt": str(stamp(c.ClaimedAt)),
		"expiresAt": epoch(c.ClaimedAt.Add(MaxLinkTTL + keepAfterExpiry)),
	}
	if req != nil {
		item["requestId"] = str(req.id)
		item["expiresAt"] = epoch(req.LinkExpiresAt.Add(keepAfterExpiry))
	}
	return item
}

// amiList stores AMIs as a list of maps of region, id and name.
func amiList(amis []AMI) types.AttributeValue {
	l := make([]types.AttributeValue, len(amis))
	for i, a := range amis {
		l[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
			"region": str(a.Region), "id": str(a.ID), "name": str(a.Name), "created": str(stampOrEmpty(a.Created)),
		}}
	}
	return &types.AttributeValueMemberL{Value: l}
}

func getAMIs(item map[string]types.AttributeValue, name string) []AMI {
	l, ok := item[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	var out []AMI
	for _, v := range l.Value {
		if m, ok := v.(*types.AttributeValueMemberM); ok {
			out = append(out, AMI{Region: getS(m.Value, "region"), ID: getS(m.Value, "id"), Name: getS(m.Value, "name"), Created: getTime(m.Value, "created")})
		}
	}
	return out
}

func requestItem(r Request) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"id":                  str(r.id),
		"kind":                str("request"),
		"ref":                 str(r.Ref),
		"imageArn":            str(r.ImageARN),
		"imageName":           str(r.ImageName),
		"imageVersion":        str(r.Version),
		"amis":                amiList(r.AMIs),
		"targetAccounts":      strList(r.Targets.Accounts),
		"targetOrganizations": strList(r.Targets.Organizations),
		"targetOus":           strList(r.Targets.OUs),
		"createdAt":           str(stamp(r.CreatedAt)),
		"updatedAt":           str(stamp(r.CreatedAt)),
		"linkExpiresAt":       str(stamp(r.LinkExpiresAt)),
		"expiresAt":           epoch(r.LinkExpiresAt.Add(keepAfterExpiry)),
	}
}

func parseRequestItem(id string, item map[string]types.AttributeValue) Request {
	r := Request{
		id:            id,
		Ref:           getS(item, "ref"),
		ImageARN:      getS(item, "imageArn"),
		ImageName:     getS(item, "imageName"),
		Version:       getS(item, "imageVersion"),
		Targets:       Targets{Accounts: getList(item, "targetAccounts"), Organizations: getList(item, "targetOrganizations"), OUs: getList(item, "targetOus")},
		CreatedAt:     getTime(item, "createdAt"),
		LinkExpiresAt: getTime(item, "linkExpiresAt"),
		Decision:      getS(item, "decision"),
		DecidedAt:     getTime(item, "decidedAt"),
		DecidedBy:     Who{SourceIP: getS(item, "sourceIp"), UserAgent: getS(item, "userAgent")},
		Outcome:       getS(item, "outcome"),
		Reason:        getS(item, "reason"),
		KeyNotes:      getList(item, "keyNotes"),
		AMIs:          getAMIs(item, "amis"),
		Shared:        getAMIs(item, "sharedAmis"),
		Unshared:      getAMIs(item, "unsharedAmis"),
		UpdatedAt:     getTime(item, "updatedAt"),
		lease:         getS(item, "leaseId"),
	}
	return r
}

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
	return map[string]types.AttributeValue{"id": str(id)}
}

func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func strList(ss []string) types.AttributeValue {
	l := make([]types.AttributeValue, len(ss))
	for i, s := range ss {
		l[i] = str(s)
	}
	return &types.AttributeValueMemberL{Value: l}
}

func epoch(t time.Time) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(t.Unix(), 10)}
}

func stamp(t time.Time) string { return t.UTC().Format(timeLayout) }

// stampOrEmpty stores an unknown time as "".
func stampOrEmpty(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return stamp(t)
}

func getS(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func getTime(item map[string]types.AttributeValue, name string) time.Time {
	t, err := time.Parse(timeLayout, getS(item, name))
	if err != nil {
		return time.Time{}
	}
	return t
}

func getList(item map[string]types.AttributeValue, name string) []string {
	l, ok := item[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil
	}
	var out []string
	for _, v := range l.Value {
		if s, ok := v.(*types.AttributeValueMemberS); ok {
			out = append(out, s.Value)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
