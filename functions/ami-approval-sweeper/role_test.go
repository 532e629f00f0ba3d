package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
)

// The sweeper's role finishes what was decided (infra/sam/ami-approval.yaml,
// AmiApprovalSweeperRole): it cannot erase a decision or its audit trail
// (no dynamodb:DeleteItem), and it shares only AMIs that EC2 Image Builder
// made (ShareImageBuilderAMIs: aws:ResourceTag/CreatedBy).
func TestRoleCannotEraseRecordsOrShareOtherAMIs(t *testing.T) {
	ctx := context.Background()
	env := approvaltest.New(t)
	_, west := stuck(t, env, time.Now().Add(-approval.SharingLease-time.Minute))
	role := env.As(t, approvaltest.SweeperFunction).Config

	t.Run("delete a record", func(t *testing.T) {
		// The records' keys, as the admin reads them.
		ids := func() []string {
			out, err := env.DynamoDB.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(env.Table)})
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, item := range out.Items {
				if id, ok := item["id"].(*dbtypes.AttributeValueMemberS); ok {
					ids = append(ids, id.Value)
				}
			}
			slices.Sort(ids)
			return ids
		}
		before := ids()
		if len(before) == 0 {
			t.Fatal("no records: want the stuck request's")
		}
		db := dynamodb.NewFromConfig(role)
		for _, id := range before {
			_, err := db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(env.Table),
				Key: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: id}}})
			iam.WantDenied(t, err, "AccessDeniedException", "dynamodb:DeleteItem", ":table/"+env.Table)
		}
		if after := ids(); !slices.Equal(after, before) {
			t.Errorf("records after the refused deletes = %q, want %q", after, before)
		}
	})

	t.Run("share an AMI without CreatedBy", func(t *testing.T) {
		admin := env.EC2("eu-west-1")
		if _, err := admin.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{west}, Tags: []ec2types.Tag{{Key: aws.String(approval.TagCreatedBy)}}}); err != nil {
			t.Fatal(err)
		}
		_, err := ec2.NewFromConfig(role, func(o *ec2.Options) { o.Region = "eu-west-1" }).ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
			ImageId: aws.String(west), LaunchPermission: &ec2types.LaunchPermissionModifications{
				Add: []ec2types.LaunchPermission{{UserId: aws.String(approvaltest.Targets.Accounts[0])}},
			},
		})
		iam.WantDenied(t, err, "UnauthorizedOperation", "ec2:ModifyImageAttribute", west)
		if got := approvaltest.LaunchPermissions(t, admin, west); len(got) != 0 {
			t.Errorf("launch permissions of %s = %v, want none", west, got)
		}
	})
}
