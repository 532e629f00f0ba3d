package main

import (
	"context"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
)

// TestRoleCannotSnapshotUntaggedOrDelete: the function's role (the event
// path's and the coverage run's), used directly, may take a snapshot only
// with SNAPSHOT_TAG in the request, may tag nothing after the fact, delete
// no snapshot, write no other table or record, and publish to no topic but
// the ops topic.
func TestRoleCannotSnapshotUntaggedOrDelete(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	inst := awstest.RunInstance(t, f.ec2, "host")
	root, _ := rootvolume.RootVolumeOf(inst)
	existing := awstest.CreateSnapshot(t, f.ec2, root)
	other := "other-table"
	replacetest.CreateTable(t, f.db, other)
	roleEC2 := ec2.NewFromConfig(f.role)
	roleDB := dynamodb.NewFromConfig(f.role)
	before := len(awstest.SnapshotsOf(t, f.ec2, root))
	otherTopic := approvaltest.CreateTopic(t, sns.NewFromConfig(f.admin), "other-topic")
	roleSNS := sns.NewFromConfig(f.role)

	tests := []struct {
		name, code, action string
		call               func() error
	}{
		{"snapshot without the suite's tag", "UnauthorizedOperation", "ec2:CreateSnapshot", func() error {
			_, err := roleEC2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(root)})
			return err
		}},
		{"snapshot with another tag", "UnauthorizedOperation", "ec2:CreateSnapshot", func() error {
			_, err := roleEC2.CreateSnapshot(ctx, &ec2.CreateSnapshotInput{VolumeId: aws.String(root), TagSpecifications: []types.TagSpecification{{
				ResourceType: types.ResourceTypeSnapshot, Tags: []types.Tag{awstest.Tag("replace-snapshot", "false")}}}})
			return err
		}},
		{"tag an existing snapshot as the suite's", "UnauthorizedOperation", "ec2:CreateTags", func() error {
			_, err := roleEC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{existing}, Tags: []types.Tag{awstest.Tag("replace-snapshot", "true")}})
			return err
		}},
		{"delete a snapshot", "UnauthorizedOperation", "ec2:DeleteSnapshot", func() error {
			_, err := roleEC2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(existing)})
			return err
		}},
		{"write another table", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(other),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "forged"}}})
			return err
		}},
		// Each role writes only the records it owns (dynamodb:LeadingKeys).
		{"write a replacement record", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "replacement#forged"}}})
			return err
		}},
		{"publish to another topic", "AuthorizationError", "sns:Publish", func() error {
			_, err := roleSNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(otherTopic), Message: aws.String("forged")})
			return err
		}},
		{"write an orphan record", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "orphan#forged"}}})
			return err
		}},
		{"write an invocation record", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "invocation#event:forged"}}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iam.WantDenied(t, tt.call(), tt.code, tt.action, "")
		})
	}
	if after := awstest.SnapshotsOf(t, f.ec2, root); len(after) != before {
		t.Errorf("snapshots of %s = %d, want still %d", root, len(after), before)
	}
	for _, s := range awstest.SnapshotsOf(t, f.ec2, root) {
		if len(s.Tags) != 0 {
			t.Errorf("snapshot %s tags = %v, want none", aws.ToString(s.SnapshotId), s.Tags)
		}
	}
	out, err := f.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(other), ConsistentRead: aws.Bool(true)})
	if err != nil || len(out.Items) != 0 {
		t.Errorf("Scan(%s) = %v, %v, want no items", other, out, err)
	}
}
