package approval

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/ebs-ops/lambda-suite/shared/proof"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

// newTestStore makes a decisions table in a fresh moto account, as the
// stack does (approvaltest does the same, but imports this package).
func newTestStore(t *testing.T) *Store {
	t.Helper()
	cfg, _ := awstest.Moto(t).Config(t)
	db := dynamodb.NewFromConfig(cfg)
	k := kms.NewFromConfig(cfg)
	s := &Store{DB: db, Table: "decisions", Proof: &proof.Sealer{KMS: k, KeyID: awstest.HMACKey(t, k)}}
	awstest.CreateTable(t, db, s.Table, "expiresAt")
	return s
}

// TestRecordDecisionFirstWins exercises the conditional write that makes a
// link single-use: the first decision on a live request is recorded, and
// every later one, a decision after the link expired, and one on a request
// that does not exist are refused with errConflict and change nothing.
func TestRecordDecisionFirstWins(t *testing.T) {
	s := newTestStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	im := Image{ARN: testBuild, Name: "app", Version: "1.0.0", Status: StatusAvailable, AMIs: []AMI{{Region: "us-east-1", ID: testAMI}}}
	newReq := func(t *testing.T) (Request, Token) {
		t.Helper()
		tok := NewToken()
		req := newRequest(im, tok, Targets{Accounts: []string{"111111111111"}}, now, time.Hour)
		if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Table), Item: marshal(newRequestItem(req))}); err != nil {
			t.Fatal(err)
		}
		return req, tok
	}
	decide := func(req Request, decision, outcome, ip string) Request {
		req.Decision, req.Outcome, req.DecidedBy = decision, outcome, Who{SourceIP: ip}
		return req
	}
	stored := func(t *testing.T, tok Token) Request {
		t.Helper()
		r, _, err := s.readRequest(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("second decision refused", func(t *testing.T) {
		req, tok := newReq(t)
		if err := s.recordDecision(ctx, decide(req, Approve, OutcomeSharing, "192.0.2.1"), nil, now); err != nil {
			t.Fatalf("first recordDecision = %v, want nil", err)
		}
		for _, d := range []string{Reject, Approve} {
			if err := s.recordDecision(ctx, decide(req, d, OutcomeRejected, "192.0.2.2"), nil, now.Add(time.Second)); !errors.Is(err, errConflict) {
				t.Errorf("later recordDecision(%s) = %v, want errConflict", d, err)
			}
		}
		if r := stored(t, tok); r.Decision != Approve || r.Outcome != OutcomeSharing || r.DecidedBy.SourceIP != "192.0.2.1" || !r.DecidedAt.Equal(now) {
			t.Errorf("stored decision = %s/%s by %s at %s, want the first: approve/sharing by 192.0.2.1 at %s",
				r.Decision, r.Outcome, r.DecidedBy.SourceIP, r.DecidedAt, now)
		}
	})

	t.Run("expired link refused", func(t *testing.T) {
		req, tok := newReq(t)
		for _, at := range []time.Time{req.LinkExpiresAt, req.LinkExpiresAt.Add(time.Minute)} {
			if err := s.recordDecision(ctx, decide(req, Approve, OutcomeSharing, "192.0.2.1"), nil, at); !errors.Is(err, errConflict) {
				t.Errorf("recordDecision at %s (link expires %s) = %v, want errConflict", at, req.LinkExpiresAt, err)
			}
		}
		if r := stored(t, tok); r.Decided() {
			t.Errorf("expired request got decision %q", r.Decision)
		}
		// One second before expiry still counts.
		if err := s.recordDecision(ctx, decide(req, Reject, OutcomeRejected, "192.0.2.1"), nil, req.LinkExpiresAt.Add(-time.Second)); err != nil {
			t.Errorf("recordDecision just before expiry = %v, want nil", err)
		}
	})

	t.Run("unknown request refused", func(t *testing.T) {
		tok := NewToken()
		req := newRequest(im, tok, Targets{}, now, time.Hour)
		if err := s.recordDecision(ctx, decide(req, Approve, OutcomeSharing, "192.0.2.1"), nil, now); !errors.Is(err, errConflict) {
			t.Errorf("recordDecision on a request never stored = %v, want errConflict", err)
		}
		if _, _, err := s.readRequest(ctx, tok); !errors.Is(err, ErrUnknownToken) {
			t.Errorf("after the refused write, readRequest = %v, want ErrUnknownToken (no item made)", err)
		}
	})
}
