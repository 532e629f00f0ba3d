package main

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/emf"
)

// TestForgedRecordsAreRefusedOnThePage is finding 1 of issue 18 through the
// page: a developer with write on the decisions table forges a request for
// a token of their own (or changes a real one), then opens its link. A
// record that does not verify is answered as an unknown token (404), GET
// and POST alike, nothing is shared and no target is told, and it is
// counted (ApprovalRecordsTampered). A record without any MAC is one the
// version before sealing wrote: it may still be decided while pending, and
// then it is shared only with the targets configured now that it names;
// one already decided is never resumed.
func TestForgedRecordsAreRefusedOnThePage(t *testing.T) {
	tests := []struct {
		name string
		// forge writes the attacker's record and returns the token of the
		// link the attacker opens.
		forge      func(t *testing.T, f *fixture, dev *dynamodb.Client, build, ami, token string) string
		wantStatus int
		// wantShared are who the AMI is shared with afterwards.
		wantShared []string
		wantCount  float64 // ApprovalRecordsTampered/page per request
	}{
		{
			name: "a pending request with a real record's MACs",
			forge: func(t *testing.T, f *fixture, dev *dynamodb.Client, build, ami, _ string) string {
				tok := approval.NewToken()
				item := approvaltest.Forge(tok, build, []approval.AMI{{Region: "us-east-1", ID: ami}}, []string{approvaltest.Attacker}, "")
				approvaltest.CopyMACs(item, f.env.RequestItem(t))
				f.env.PutAs(t, dev, item)
				return tok.Secret()
			},
			wantStatus: http.StatusNotFound, wantCount: 1,
		},
		{
			name: "a real request's targets changed",
			forge: func(t *testing.T, f *fixture, dev *dynamodb.Client, _, _, token string) string {
				f.update(t, dev, "SET targetAccounts = :t", map[string]dbtypes.AttributeValue{
					":t": &dbtypes.AttributeValueMemberL{Value: []dbtypes.AttributeValue{&dbtypes.AttributeValueMemberS{Value: approvaltest.Attacker}}},
				})
				return token
			},
			wantStatus: http.StatusNotFound, wantCount: 1,
		},
		{
			name: "a real request rejected by the attacker",
			forge: func(t *testing.T, f *fixture, dev *dynamodb.Client, _, _, token string) string {
				f.update(t, dev, "SET decision = :d, outcome = :o", map[string]dbtypes.AttributeValue{
					":d": &dbtypes.AttributeValueMemberS{Value: approval.Reject}, ":o": &dbtypes.AttributeValueMemberS{Value: approval.OutcomeRejected},
				})
				return token
			},
			wantStatus: http.StatusNotFound, wantCount: 1,
		},
		{
			name: "an unsealed approval that failed, to be retried",
			forge: func(t *testing.T, f *fixture, dev *dynamodb.Client, build, ami, _ string) string {
				tok := approval.NewToken()
				f.env.PutAs(t, dev, approvaltest.Forge(tok, build, []approval.AMI{{Region: "us-east-1", ID: ami}}, approvaltest.Targets.Accounts, approval.OutcomeFailed))
				return tok.Secret()
			},
			// The recorded decision, shown (a failed share answers 502);
			// not resumed.
			wantStatus: http.StatusBadGateway,
		},
		{
			name: "an unsealed pending request naming the attacker",
			forge: func(t *testing.T, f *fixture, dev *dynamodb.Client, build, ami, _ string) string {
				tok := approval.NewToken()
				f.env.PutAs(t, dev, approvaltest.Forge(tok, build, []approval.AMI{{Region: "us-east-1", ID: ami}},
					[]string{approvaltest.Attacker, approvaltest.Targets.Accounts[0]}, ""))
				return tok.Secret()
			},
			// Like every unsealed pending request: decided, with
			// the full checks, and shared with the configured targets it
			// names, never the attacker.
			wantStatus: http.StatusOK, wantShared: approvaltest.Targets.Accounts[:1],
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, approvalURL)
			ami, token := f.singleRegion(t)
			build := f.env.Own("arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2")
			token = tt.forge(t, f, f.env.Developer(t, f.role), build, ami, token)

			for _, event := range []string{"get.json", "post-approve.json"} {
				var out bytes.Buffer
				f.h.metrics = metrics.New("link-fn", &out)
				resp := f.serve(t, linkEvent(t, event, token))
				if resp.StatusCode != tt.wantStatus {
					t.Errorf("%s: status %d, want %d\n%s", event, resp.StatusCode, tt.wantStatus, resp.Body)
				}
				if got := emf.Value(emf.Parse(t, out.Bytes()), "ApprovalRecordsTampered", "page"); got != tt.wantCount {
					t.Errorf("%s: ApprovalRecordsTampered/page = %v, want %v", event, got, tt.wantCount)
				}
			}
			if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); !slices.Equal(got, tt.wantShared) {
				t.Errorf("launch permissions of %s = %v, want %v", ami, got, tt.wantShared)
			}
			if n, want := len(f.env.Target.Receive(t)), len(tt.wantShared); n != want {
				t.Errorf("target notices = %d, want %d", n, want)
			}
		})
	}
}

// update changes the fixture's one real request item as the developer.
func (f *fixture) update(t *testing.T, dev *dynamodb.Client, expr string, vals map[string]dbtypes.AttributeValue) {
	t.Helper()
	if _, err := dev.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(f.env.Table), Key: map[string]dbtypes.AttributeValue{"id": f.env.RequestItem(t)["id"]},
		UpdateExpression: aws.String(expr), ExpressionAttributeValues: vals,
	}); err != nil {
		t.Fatalf("the developer's UpdateItem: %v", err)
	}
}
