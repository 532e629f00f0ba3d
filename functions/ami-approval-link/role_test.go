package main

import (
	"context"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
)

// The link function's role shares only AMIs that EC2 Image Builder made
// (infra/sam/ami-approval.yaml, AmiApprovalLinkRole, ShareImageBuilderAMIs:
// aws:ResourceTag/CreatedBy), a second line behind Image Builder's own
// list: an AMI without the tag is refused even when it names the build.
// And it reads one request by its token's key, never the whole table.
func TestRoleCannotShareAMIsImageBuilderDidNotMake(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, approvalURL)
	im := f.requestEvent(t, "available-single-region.json", nil)
	admin := f.env.EC2("us-east-1")
	ami := approvaltest.GoldenAMI(t, admin, "us-east-1", im.ARN, "made by hand")
	if _, err := admin.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{ami}, Tags: []ec2types.Tag{{Key: aws.String(approval.TagCreatedBy)}}}); err != nil {
		t.Fatal(err)
	}

	t.Run("share an AMI without CreatedBy", func(t *testing.T) {
		_, err := ec2.NewFromConfig(f.role.Config, func(o *ec2.Options) { o.Region = "us-east-1" }).ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
			ImageId: aws.String(ami), LaunchPermission: &ec2types.LaunchPermissionModifications{
				Add: []ec2types.LaunchPermission{{UserId: aws.String(approvaltest.Targets.Accounts[0])}},
			},
		})
		iam.WantDenied(t, err, "UnauthorizedOperation", "ec2:ModifyImageAttribute", ami)
		if got := approvaltest.LaunchPermissions(t, admin, ami); len(got) != 0 {
			t.Errorf("launch permissions of %s = %v, want none", ami, got)
		}
	})

	t.Run("list every request", func(t *testing.T) {
		_, err := dynamodb.NewFromConfig(f.role.Config).Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(f.env.Table)})
		iam.WantDenied(t, err, "AccessDeniedException", "dynamodb:Scan", ":table/"+f.env.Table)
	})
}
