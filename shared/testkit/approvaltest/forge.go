package approvaltest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
)

// Attacker is the account a forged record asks the AMIs to be shared with.
const Attacker = "999999999999"

// ForgedRef is the ref of the records Forge makes.
const ForgedRef = "f0f0f0f0f0f0"

// DeveloperPolicy is what a developer role or AmazonDynamoDBFullAccess
// commonly holds on the decisions table: it reads and writes items, but is
// none of the approval functions' roles, so the proof key's policy does
// not let it make a MAC.
func DeveloperPolicy(account, table string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Action":["dynamodb:GetItem","dynamodb:PutItem","dynamodb:UpdateItem","dynamodb:DeleteItem","dynamodb:Scan"],
		"Resource":"arn:aws:dynamodb:*:%s:table/%s"}]}`, account, table)
}

// Developer returns a DynamoDB client of such a developer, a principal of
// fn's layer in the Env's account.
func (e *Env) Developer(tb testing.TB, fn *iam.Function) *dynamodb.Client {
	tb.Helper()
	return dynamodb.NewFromConfig(fn.OtherPrincipal(tb, e.Cfg, "developer", DeveloperPolicy(e.Account, e.Table)))
}

// Forge is a request item as an attacker writes it (finding 1 of issue
// 18): keyed by the hash of a token the attacker chose, naming a real
// build and its real AMIs and targets of the attacker's choosing, and, for
// outcome "sharing", approved and left sharing since an hour ago, for the
// sweeper to finish. outcome "" is a pending request, for the attacker's
// own link.
func Forge(token approval.Token, build string, amis []approval.AMI, targets []string, outcome string) map[string]dbtypes.AttributeValue {
	s := func(v string) dbtypes.AttributeValue { return &dbtypes.AttributeValueMemberS{Value: v} }
	l := func(v ...dbtypes.AttributeValue) dbtypes.AttributeValue {
		return &dbtypes.AttributeValueMemberL{Value: v}
	}
	var amiList, targetList []dbtypes.AttributeValue
	for _, a := range amis {
		amiList = append(amiList, &dbtypes.AttributeValueMemberM{Value: map[string]dbtypes.AttributeValue{"region": s(a.Region), "id": s(a.ID), "name": s(""), "created": s("")}})
	}
	for _, t := range targets {
		targetList = append(targetList, s(t))
	}
	sum := sha256.Sum256([]byte(token.Secret()))
	stamp := func(t time.Time) dbtypes.AttributeValue { return s(t.UTC().Format("2006-01-02T15:04:05Z")) }
	old := time.Now().Add(-time.Hour)
	item := map[string]dbtypes.AttributeValue{
		"id": s("request#" + hex.EncodeToString(sum[:])), "kind": s("request"), "ref": s(ForgedRef),
		"imageArn": s(build), "imageName": s("golden-al2023"), "imageVersion": s("1.0.5"),
		"amis": l(amiList...), "targetAccounts": l(targetList...), "targetOrganizations": l(), "targetOus": l(),
		"createdAt": stamp(old), "updatedAt": stamp(old), "linkExpiresAt": stamp(time.Now().Add(time.Hour)),
		"expiresAt": &dbtypes.AttributeValueMemberN{Value: fmt.Sprint(time.Now().Add(30 * 24 * time.Hour).Unix())},
	}
	if outcome != "" {
		item["decision"], item["decidedAt"], item["outcome"], item["reason"], item["leaseId"] = s(approval.Approve), stamp(old), s(outcome), s(""), s("forged")
	}
	return item
}

// PutAs writes item to the Env's table with db (an attacker's client).
func (e *Env) PutAs(tb testing.TB, db *dynamodb.Client, item map[string]dbtypes.AttributeValue) {
	tb.Helper()
	if _, err := db.PutItem(tb.Context(), &dynamodb.PutItemInput{TableName: aws.String(e.Table), Item: item}); err != nil {
		tb.Fatalf("the attacker's PutItem: %v", err)
	}
}

// CopyMACs copies every MAC attribute of from into to, as an attacker
// who read a real record would, hoping they verify on the forgery.
func CopyMACs(to, from map[string]dbtypes.AttributeValue) {
	for k, v := range from {
		if len(k) > 3 && k[len(k)-3:] == "Mac" {
			to[k] = v
		}
	}
}

// RequestItem returns the table's one request item, as stored.
func (e *Env) RequestItem(tb testing.TB) map[string]dbtypes.AttributeValue {
	tb.Helper()
	var found []map[string]dbtypes.AttributeValue
	for _, item := range e.RawItems(tb) {
		if k, _ := item["kind"].(*dbtypes.AttributeValueMemberS); k != nil && k.Value == "request" {
			found = append(found, item)
		}
	}
	if len(found) != 1 {
		tb.Fatalf("request items = %d, want 1", len(found))
	}
	return found[0]
}
