package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"
	"github.com/google/go-cmp/cmp"
)

// TestAuditItemsAreAppendOnly is part of finding 11 of issue 18: the
// request and link roles could delete or overwrite the audit trail. No
// role of the capability may now update or delete an item whose key starts
// audit# (a Deny on dynamodb:LeadingKeys), and the request function, which
// writes none, may not put one either. The link and sweeper functions put
// new ones (conditional on attribute_not_exists(id): PutItem has no
// condition key that tells a new item from an overwrite).
func TestAuditItemsAreAppendOnly(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, approvalURL)
	_, token := f.singleRegion(t)
	if resp := f.serve(t, linkEvent(t, "post-reject.json", token)); resp.StatusCode != http.StatusOK {
		t.Fatalf("reject = %d", resp.StatusCode)
	}
	var audit map[string]dbtypes.AttributeValue
	for _, item := range f.env.RawItems(t) {
		if id, _ := item["id"].(*dbtypes.AttributeValueMemberS); id != nil && strings.HasPrefix(id.Value, "audit#") {
			audit = item
		}
	}
	if audit == nil {
		t.Fatal("no audit item")
	}
	key := map[string]dbtypes.AttributeValue{"id": audit["id"]}
	table := aws.String(f.env.Table)
	forged := map[string]dbtypes.AttributeValue{"id": audit["id"], "kind": &dbtypes.AttributeValueMemberS{Value: "audit"}, "outcome": &dbtypes.AttributeValueMemberS{Value: "approved"}}

	for _, role := range []string{approvaltest.RequestFunction, approvaltest.LinkFunction, approvaltest.SweeperFunction} {
		t.Run(role, func(t *testing.T) {
			db := dynamodb.NewFromConfig(f.env.As(t, role).Config)
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key,
				UpdateExpression: aws.String("SET outcome = :o"), ExpressionAttributeValues: map[string]dbtypes.AttributeValue{":o": forged["outcome"]}})
			iam.WantDenied(t, err, "AccessDeniedException", "dynamodb:UpdateItem", ":table/"+f.env.Table)
			_, err = db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: table, Key: key})
			iam.WantDenied(t, err, "AccessDeniedException", "dynamodb:DeleteItem", ":table/"+f.env.Table)
			if role == approvaltest.RequestFunction {
				_, err = db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: forged})
				iam.WantDenied(t, err, "AccessDeniedException", "dynamodb:PutItem", ":table/"+f.env.Table)
			}
		})
	}
	for _, item := range f.env.RawItems(t) {
		if id, _ := item["id"].(*dbtypes.AttributeValueMemberS); id != nil && id.Value == audit["id"].(*dbtypes.AttributeValueMemberS).Value {
			if diff := cmp.Diff(outcomeOf(audit), outcomeOf(item)); diff != "" {
				t.Errorf("audit item changed (-before +after):\n%s", diff)
			}
			return
		}
	}
	t.Error("the audit item is gone")
}

func outcomeOf(item map[string]dbtypes.AttributeValue) string {
	s, _ := item["outcome"].(*dbtypes.AttributeValueMemberS)
	if s == nil {
		return ""
	}
	return s.Value
}

// TestOnlyTheSuitePublishesToItsTopics is part of finding 11 of issue 18:
// the approver and target topics took sns:Publish from any principal IAM
// allowed, so a publisher (sns:Publish on "*", as many roles have) could
// mail the approvers a forged "Review and decide" link or tell the target
// accounts of a share that never was. Each topic's policy now denies
// Publish to every principal but the functions that publish to it (a Deny
// on aws:PrincipalArn: within the account an Allow alone restricts
// nothing); no AWS service publishes to either.
func TestOnlyTheSuitePublishesToItsTopics(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, approvalURL)
	publisher := sns.NewFromConfig(f.role.OtherPrincipal(t, f.env.Cfg, "publisher",
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sns:Publish","kms:GenerateDataKey*","kms:Decrypt"],"Resource":"*"}]}`))
	for _, topic := range []string{f.env.ApproverTopic, f.env.TargetTopic} {
		_, err := publisher.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String("Approve sharing of AMI build golden"),
			Message: aws.String("Review and decide:\nhttps://attacker.example/?token=x")})
		iam.WantDenied(t, err, "AuthorizationError", "sns:Publish", topic)
	}
	for inbox, got := range map[string]int{"approver": len(f.env.Approver.Receive(t)), "target": len(f.env.Target.Receive(t))} {
		if got != 0 {
			t.Errorf("%s messages = %d, want none", inbox, got)
		}
	}
	// The functions still publish where they must.
	for role, topic := range map[string]string{
		approvaltest.RequestFunction: f.env.ApproverTopic, approvaltest.SweeperFunction: f.env.ApproverTopic,
		approvaltest.LinkFunction: f.env.TargetTopic,
	} {
		if _, err := sns.NewFromConfig(f.env.As(t, role).Config).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String("test")}); err != nil {
			t.Errorf("%s publishing to %s: %v", role, topic, err)
		}
	}
}
