package main

import (
	"context"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
)

// TestRoleCannotReplaceOrLabelBeyondItsRequest: the function's role, used
// directly (no handler to check first), may not start a replacement on an
// instance that has not opted in, put any label but DELETE_VOLUME_TAG on a
// volume, delete a volume, or write a table other than the replacements
// table. IAM refuses each, and nothing changes.
func TestRoleCannotReplaceOrLabelBeyondItsRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inst := awstest.RunInstance(t, f.ec2, "not-opted-in")
	id := aws.ToString(inst.InstanceId)
	root, _ := rootvolume.RootVolumeOf(inst)
	other := "other-table"
	replacetest.CreateTable(t, f.db, other)
	roleEC2 := f.caller.Client
	roleDB := dynamodb.NewFromConfig(f.role.Config)

	tests := []struct {
		name, code, action string
		call               func() error
	}{
		{"replace a root without the opt-in tag", "UnauthorizedOperation", "ec2:CreateReplaceRootVolumeTask", func() error {
			_, err := f.caller.CreateReplaceRootVolumeTask(ctx, &ec2.CreateReplaceRootVolumeTaskInput{InstanceId: aws.String(id), ClientToken: aws.String("t-1")})
			return err
		}},
		{"label a volume to keep it", "UnauthorizedOperation", "ec2:CreateTags", func() error {
			_, err := roleEC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{root}, Tags: []types.Tag{awstest.Tag("lambda-suite:keep", "true")}})
			return err
		}},
		{"label a volume for deletion and more", "UnauthorizedOperation", "ec2:CreateTags", func() error {
			_, err := roleEC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{root},
				Tags: []types.Tag{awstest.Tag("delete-volume", "true"), awstest.Tag("owner", "someone")}})
			return err
		}},
		{"delete a volume", "UnauthorizedOperation", "ec2:DeleteVolume", func() error {
			_, err := roleEC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(root)})
			return err
		}},
		{"write another table", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(other),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "forged"}}})
			return err
		}},
		// Each role writes only the records it owns (dynamodb:LeadingKeys).
		{"write a root record", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "root#vol-0123456789abcdef0"}}})
			return err
		}},
		{"overwrite a refusal notice", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "notice#vol-0123456789abcdef0"}}})
			return err
		}},
		{"delete a record", "AccessDeniedException", "dynamodb:DeleteItem", func() error {
			_, err := roleDB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(table),
				Key: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "replacement#x"}}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iam.WantDenied(t, tt.call(), tt.code, tt.action, "")
		})
	}

	if n := f.fake.Started(); n != 0 {
		t.Errorf("tasks started = %d, want 0", n)
	}
	if got, _ := rootvolume.RootVolumeOf(awstest.DescribeInstance(t, f.ec2, id)); got != root {
		t.Errorf("root of %s = %s, want still %s", id, got, root)
	}
	if tags := volumeTags(t, f.ec2, root); len(tags) != 0 {
		t.Errorf("root volume tags = %v, want none", tags)
	}
	out, err := f.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(other), ConsistentRead: aws.Bool(true)})
	if err != nil || len(out.Items) != 0 {
		t.Errorf("Scan(%s) = %v, %v, want no items", other, out, err)
	}
}
