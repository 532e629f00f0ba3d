package approval

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/ebs-ops/lambda-suite/shared/proof"
)

// A named request (APPROVERS set) is one request item, keyed by a token
// nobody is sent, and one ticket item per approver, keyed by the hash of
// that approver's own token:
//
//	ticket#<token hash>  the approver a link was issued to, and its request
//
// The request item holds each approver's vote in its map "votes", keyed by
// the approver's address: a vote is written once (attribute_not_exists of
// its key), so one approver counts once, whichever of their links they
// use. Each ticket and each vote carries its own MAC of the proof key, so
// a table writer can neither issue a link nor add a vote (seal.go).
const (
	ticketPrefix = "ticket#"
	ticketSeal   = "ami-approval/ticket"
	voteSeal     = "ami-approval/vote"
)

// Vote is one approver's decision on a named request.
type Vote struct {
	Email    string
	Decision string // Approve or Reject
	At       time.Time
	mac      string
}

// ticket is one approver's link to a named request.
type ticket struct {
	id        string // ticketPrefix + token hash
	requestID string
	approver  Approver
	expires   time.Time
	mac       string
}

type ticketItem struct {
	ID        string    `dynamodbav:"id"`
	Kind      string    `dynamodbav:"kind"` // "ticket"
	RequestID string    `dynamodbav:"requestId"`
	Email     string    `dynamodbav:"email"`
	Name      string    `dynamodbav:"name,omitempty"`
	ExpiresAt time.Time `dynamodbav:"expiresAt,unixtime"`
	TicketMAC string    `dynamodbav:"ticketMac"`
}

type voteItem struct {
	Decision string     `dynamodbav:"decision"`
	At       storedTime `dynamodbav:"at"`
	MAC      string     `dynamodbav:"voteMac"`
}

func ticketFields(tk ticket) []proof.Field {
	return []proof.Field{proof.String("id", tk.id), proof.String("requestId", tk.requestID), proof.String("email", tk.approver.Email)}
}

func voteFields(requestID string, v Vote) []proof.Field {
	return []proof.Field{proof.String("requestId", requestID), proof.String("email", v.Email),
		proof.String("decision", v.Decision), proof.String("at", stamp(v.At))}
}

// namedFields are what a named request's requestMac covers beside the
// SNS mode's fields: who may decide, and how many must approve.
func namedFields(r Request) []proof.Field {
	if len(r.Approvers) == 0 {
		return nil
	}
	emails := make([]string, len(r.Approvers))
	for i, a := range r.Approvers {
		emails[i] = a.Email
	}
	return []proof.Field{proof.List("approvers", emails), proof.String("quorum", strconv.Itoa(r.Quorum))}
}

// newTickets makes one token and one sealed ticket per approver of req.
func (s *Store) newTickets(ctx context.Context, req *Request) (map[string]Token, error) {
	tokens := map[string]Token{}
	for _, a := range req.Approvers {
		t := NewToken()
		tk := ticket{id: ticketPrefix + t.hash(), requestID: req.id, approver: a, expires: req.LinkExpiresAt.Add(keepAfterExpiry)}
		mac, err := s.Proof.Seal(ctx, ticketSeal, ticketFields(tk)...)
		if err != nil {
			return nil, err
		}
		tk.mac = mac
		req.tickets = append(req.tickets, tk)
		tokens[a.Email] = t
	}
	return tokens, nil
}

func (tk ticket) item() map[string]types.AttributeValue {
	return marshal(ticketItem{ID: tk.id, Kind: "ticket", RequestID: tk.requestID, Email: tk.approver.Email, Name: tk.approver.Name,
		ExpiresAt: tk.expires, TicketMAC: tk.mac})
}

// readTicket reads the request an approver's token opens, with the
// approver set (Request.Approver). ErrUnknownToken: no such ticket or
// request; ErrTampered: the ticket does not verify, or names an approver
// the request does not.
func (s *Store) readTicket(ctx context.Context, t Token) (Request, *Step, error) {
	item, err := s.get(ctx, ticketPrefix+t.hash())
	if err != nil || item == nil {
		return Request{}, nil, cmp.Or(err, ErrUnknownToken)
	}
	var it ticketItem
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return Request{}, nil, fmt.Errorf("read ticket: %w", err)
	}
	tk := ticket{id: it.ID, requestID: it.RequestID, approver: Approver{Email: it.Email, Name: it.Name}}
	if s.Proof == nil {
		return Request{}, nil, fmt.Errorf("verify ticket: no proof key (PROOF_KEY_ARN)")
	}
	if err := s.Proof.Verify(ctx, ticketSeal, it.TicketMAC, ticketFields(tk)...); proof.Untrusted(err) {
		return Request{}, nil, &TamperError{Tamper: Tamper{Reason: "ticket: " + err.Error()}}
	} else if err != nil {
		return Request{}, nil, fmt.Errorf("verify ticket: %w", err)
	}
	if !strings.HasPrefix(it.RequestID, requestPrefix) {
		return Request{}, nil, ErrUnknownToken
	}
	reqItem, err := s.get(ctx, it.RequestID)
	if err != nil || reqItem == nil {
		return Request{}, nil, cmp.Or(err, ErrUnknownToken)
	}
	req, st, err := parseStepRequest(it.RequestID, reqItem)
	if err != nil {
		return req, st, err
	}
	if !slices.ContainsFunc(req.Approvers, func(a Approver) bool { return a.Email == tk.approver.Email }) {
		return Request{}, nil, &TamperError{Tamper: Tamper{Ref: req.Ref, ImageARN: req.ImageARN, Reason: "ticket names an approver the request does not"}}
	}
	req.Approver = tk.approver
	return req, st, nil
}

// verifyVotes checks each vote's MAC.
func (s *Store) verifyVotes(ctx context.Context, r Request) error {
	for _, v := range r.Votes {
		if err := s.Proof.Verify(ctx, voteSeal, v.mac, voteFields(r.id, v)...); err != nil {
			return fmt.Errorf("vote of %s: %w", v.Email, err)
		}
	}
	return nil
}

// putVote records v on a live, undecided request, once per approver, and
// returns the request as it is now. errConflict: this approver voted
// already, or the request is decided, expired or gone.
func (s *Store) putVote(ctx context.Context, req Request, v Vote, now time.Time) (Request, error) {
	mac, err := s.Proof.Seal(ctx, voteSeal, voteFields(req.id, v)...)
	if err != nil {
		return req, err
	}
	out, err := s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(s.Table),
		Key:                      key(req.id),
		UpdateExpression:         aws.String("SET votes.#e = :vote"),
		ConditionExpression:      aws.String("attribute_exists(id) AND attribute_not_exists(decision) AND linkExpiresAt > :now AND attribute_not_exists(votes.#e)"),
		ExpressionAttributeNames: map[string]string{"#e": v.Email},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":vote": &types.AttributeValueMemberM{Value: marshal(voteItem{Decision: v.Decision, At: storedTime(v.At), MAC: mac})},
			":now":  &types.AttributeValueMemberS{Value: stamp(now)},
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if err != nil {
		return req, fmt.Errorf("record the vote of %s on %s: %w", v.Email, req.Ref, conflict(err))
	}
	got, _, err := parseStepRequest(req.id, out.Attributes)
	got.Approver = req.Approver
	return got, err
}

// reread reads req's item again, keeping whose link opened it.
func (s *Store) reread(ctx context.Context, req Request) (Request, error) {
	item, err := s.get(ctx, req.id)
	if err != nil || item == nil {
		return req, cmp.Or(err, ErrUnknownToken)
	}
	got, _, err := parseStepRequest(req.id, item)
	got.Approver = req.Approver
	return got, err
}

// votes reads a request item's votes, oldest first.
func votes(m map[string]voteItem) []Vote {
	var out []Vote
	for email, v := range m {
		out = append(out, Vote{Email: email, Decision: v.Decision, At: time.Time(v.At), mac: v.MAC})
	}
	slices.SortFunc(out, func(a, b Vote) int { return cmp.Or(a.At.Compare(b.At), strings.Compare(a.Email, b.Email)) })
	return out
}

// Approvals are the approvers who approved, oldest first.
func (r Request) Approvals() []Vote {
	var out []Vote
	for _, v := range r.Votes {
		if v.Decision == Approve {
			out = append(out, v)
		}
	}
	return out
}

// Awaited are the approvers who have not voted.
func (r Request) Awaited() []Approver {
	var out []Approver
	for _, a := range r.Approvers {
		if !slices.ContainsFunc(r.Votes, func(v Vote) bool { return v.Email == a.Email }) {
			out = append(out, a)
		}
	}
	return out
}

// VoteOf is the vote of email, if any.
func (r Request) VoteOf(email string) (Vote, bool) {
	i := slices.IndexFunc(r.Votes, func(v Vote) bool { return v.Email == email })
	if i < 0 {
		return Vote{}, false
	}
	return r.Votes[i], true
}
