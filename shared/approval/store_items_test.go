package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var updateItems = flag.Bool("update-items", false, "rewrite testdata/items.json from the store's writes")

// The items deployed tables hold: testdata/items.json holds one item of
// each kind and state, attribute for attribute as deployed tables have them.
// The store must read them back as they were meant, and write the same
// items, attribute for attribute.
const itemsFile = "testdata/items.json"

// storeScenario is one build's life in the table, at fixed times: a failed
// build's claim; an AVAILABLE build's claim and request, notified, approved,
// shared in part, then finished; and the audit record of the approval.
func storeScenario(t *testing.T, s *Store) (claim, Request, claim, Request) {
	t.Helper()
	ctx := context.Background()
	at := func(min int) time.Time { return time.Date(2026, 3, 1, 10, min, 0, 0, time.UTC) }
	east := AMI{Region: "us-east-1", ID: "ami-0123456789abcdef0", Name: "golden 1.0.0", Created: at(0).Add(-time.Hour)}
	west := AMI{Region: "us-west-2", ID: "ami-0fedcba9876543210", Name: ""} // EC2 did not know it: no date
	req := Request{
		id:  requestPrefix + "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b",
		Ref: "a1b2c3d4e5f6", ImageARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/golden/1.0.0/1",
		ImageName: "golden", Version: "1.0.0", AMIs: []AMI{east, west},
		Targets: Targets{
			Accounts:      []string{"111111111111", "222222222222"},
			Organizations: []string{"arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5"},
			OUs:           []string{"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456"},
		},
		CreatedAt: at(0), LinkExpiresAt: at(0).Add(DefaultLinkTTL),
	}
	c := claim{ImageARN: req.ImageARN, ClaimID: "claim-1", RequestID: req.id, ClaimedAt: at(0)}
	if err := s.createClaim(ctx, c, &req, nil); err != nil {
		t.Fatal(err)
	}
	failed := claim{ImageARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/golden/1.0.1/1", ClaimID: "claim-2", ClaimedAt: at(1)}
	if err := s.createClaim(ctx, failed, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.markNotified(ctx, c, at(2)); err != nil {
		t.Fatal(err)
	}
	req.Decision, req.Outcome, req.lease = Approve, OutcomeSharing, "lease-1"
	req.DecidedBy = Who{SourceIP: "192.0.2.10", UserAgent: "Mozilla/5.0 (test)"}
	if err := s.recordDecision(ctx, req, nil, at(3)); err != nil {
		t.Fatal(err)
	}
	req.Shared = []AMI{east}
	if err := s.markSharing(ctx, req, at(4)); err != nil {
		t.Fatal(err)
	}
	req.Outcome, req.Reason = OutcomeFailed, "ModifyImageAttribute on ami-0fedcba9876543210: throttled"
	req.KeyNotes = []string{"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
	req.Shared, req.Unshared = []AMI{east}, []AMI{west}
	if err := s.finishSharing(ctx, req, at(5)); err != nil {
		t.Fatal(err)
	}
	err := s.putAudit(ctx, Audit{
		Ref: req.Ref, ImageARN: req.ImageARN, Action: Approve, Who: req.DecidedBy, At: at(5),
		Outcome: req.Outcome, AMIs: req.AMIs, Targets: req.Targets, Shared: req.Shared, Unshared: req.Unshared,
		Checked: []AMI{east, west},
	})
	if err != nil {
		t.Fatal(err)
	}
	// A request no one has decided on, for accounts only, and a repeated
	// attempt's audit with nothing shared or checked: the empty lists and
	// the attributes left out.
	fresh := Request{
		id: requestPrefix + "d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35", Ref: "0a0b0c0d0e0f",
		ImageARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/golden/1.0.2/1", ImageName: "golden", Version: "1.0.2",
		AMIs: []AMI{east}, Targets: Targets{Accounts: []string{"111111111111"}}, CreatedAt: at(6), LinkExpiresAt: at(6).Add(time.Hour),
	}
	if err := s.createClaim(ctx, claim{ImageARN: fresh.ImageARN, ClaimID: "claim-3", ClaimedAt: at(6)}, &fresh, nil); err != nil {
		t.Fatal(err)
	}
	err = s.putAudit(ctx, Audit{Ref: req.Ref, ImageARN: req.ImageARN, Action: Reject, At: at(7), Outcome: req.Outcome, Repeated: true,
		AMIs: req.AMIs, Targets: Targets{Accounts: []string{"111111111111"}}})
	if err != nil {
		t.Fatal(err)
	}
	c.NotifiedAt = at(2)
	req.DecidedAt, req.UpdatedAt = at(3), at(5)
	fresh.UpdatedAt = fresh.CreatedAt
	return c, req, failed, fresh
}

// auditSuffix is the random part of an audit item's id.
var auditSuffix = regexp.MustCompile(`#[A-Z2-7]{26}$`) // crypto/rand.Text

// TestStoredItemsStayTheSame: what the store writes is, attribute for
// attribute, what testdata/items.json holds.
func TestStoredItemsStayTheSame(t *testing.T) {
	s := newTestStore(t)
	storeScenario(t, s)
	got := dumpItems(t, s)
	if *updateItems {
		if err := os.WriteFile(itemsFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(itemsFile)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("stored items differ from %s (-want +got):\n%s", itemsFile, diff)
	}
}

// TestStoredItemsReadBack: the items in testdata/items.json, put in a table
// as they are, read back as the values that wrote them.
func TestStoredItemsReadBack(t *testing.T) {
	ctx := context.Background()
	// The values, from a scenario run against a table of its own.
	wantClaim, wantReq, wantFailed, wantFresh := storeScenario(t, newTestStore(t))

	s := newTestStore(t)
	raw, err := os.ReadFile(itemsFile)
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		item := map[string]types.AttributeValue{}
		for k, v := range it {
			item[k] = fromJSON(t, v)
		}
		if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []claim{wantClaim, wantFailed} {
		got, err := s.getClaim(ctx, want.key())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(claim{})); diff != "" {
			t.Errorf("getClaim(%s) (-want +got):\n%s", want.ImageARN, diff)
		}
	}
	for _, want := range []Request{wantReq, wantFresh} {
		item, err := s.get(ctx, want.id)
		if err != nil || item == nil {
			t.Fatalf("get(request %s) = %v, %v", want.Ref, item, err)
		}
		got, err := parseRequestItem(want.id, item)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(Request{}), cmpopts.IgnoreFields(Request{}, "requestMAC", "stateMAC")); diff != "" {
			t.Errorf("request %s read back (-want +got):\n%s", want.Ref, diff)
		}
	}
	// The stopped-approval scan reads the same shape.
	stale, err := s.staleSharing(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || len(stale) != 0 {
		t.Errorf("staleSharing = %v, %v; want none (the request is failed, not sharing)", stale, err)
	}
}

// dumpItems returns the table's items as DynamoDB JSON, sorted by id, the
// random part of audit ids masked.
func dumpItems(t *testing.T, s *Store) []byte {
	t.Helper()
	out, err := s.DB.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(s.Table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var items []map[string]any
	for _, item := range out.Items {
		m := map[string]any{}
		for k, v := range item {
			m[k] = toJSON(v)
			if strings.HasSuffix(k, "Mac") {
				// A MAC differs with each test's key: seal_test.go checks them.
				m[k] = map[string]any{"S": "<mac>"}
			}
		}
		if id, _ := item["id"].(*types.AttributeValueMemberS); id != nil && strings.HasPrefix(id.Value, auditPrefix) {
			id := id.Value
			m["id"] = map[string]any{"S": auditSuffix.ReplaceAllString(id, "#<random>")}
		}
		items = append(items, m)
	}
	sort.Slice(items, func(i, j int) bool {
		return fmt.Sprint(items[i]["id"]) < fmt.Sprint(items[j]["id"])
	})
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(items); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// toJSON is DynamoDB's JSON form of an attribute value.
func toJSON(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return map[string]any{"S": v.Value}
	case *types.AttributeValueMemberN:
		return map[string]any{"N": v.Value}
	case *types.AttributeValueMemberBOOL:
		return map[string]any{"BOOL": v.Value}
	case *types.AttributeValueMemberNULL:
		return map[string]any{"NULL": v.Value}
	case *types.AttributeValueMemberSS:
		return map[string]any{"SS": v.Value}
	case *types.AttributeValueMemberL:
		l := make([]any, len(v.Value))
		for i, e := range v.Value {
			l[i] = toJSON(e)
		}
		return map[string]any{"L": l}
	case *types.AttributeValueMemberM:
		m := map[string]any{}
		for k, e := range v.Value {
			m[k] = toJSON(e)
		}
		return map[string]any{"M": m}
	}
	return map[string]any{"unknown": fmt.Sprintf("%T", v)}
}

func fromJSON(t *testing.T, v any) types.AttributeValue {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		t.Fatalf("%v is not an attribute value", v)
	}
	for typ, x := range m {
		switch typ {
		case "S":
			return &types.AttributeValueMemberS{Value: x.(string)}
		case "N":
			return &types.AttributeValueMemberN{Value: x.(string)}
		case "BOOL":
			return &types.AttributeValueMemberBOOL{Value: x.(bool)}
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: x.(bool)}
		case "L":
			var l []types.AttributeValue
			for _, e := range x.([]any) {
				l = append(l, fromJSON(t, e))
			}
			if l == nil {
				l = []types.AttributeValue{}
			}
			return &types.AttributeValueMemberL{Value: l}
		case "M":
			out := map[string]types.AttributeValue{}
			for k, e := range x.(map[string]any) {
				out[k] = fromJSON(t, e)
			}
			return &types.AttributeValueMemberM{Value: out}
		}
	}
	t.Fatalf("%v: unknown attribute type", v)
	return nil
}
