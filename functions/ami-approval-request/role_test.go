package main

import (
	"context"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/testkit/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
)

// The request function's role asks and e-mails the approvers, nothing
// more (infra/sam/ami-approval.yaml, AmiApprovalRequestRole): it cannot
// share an AMI, not even one Image Builder made for the build, nor tell
// the target accounts that anything was shared. Both are the link's, after
// an approver decided.
func TestRoleCannotShareAMIsOrNotifyTargets(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ev := f.built(t, sample(t, "available-single-region.json"))
	ami := approvaltest.AMIs(t, ev)[0]

	t.Run("share an AMI of the build", func(t *testing.T) {
		_, err := ec2.NewFromConfig(f.role.Config).ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
			ImageId: aws.String(ami), LaunchPermission: &ec2types.LaunchPermissionModifications{
				Add: []ec2types.LaunchPermission{{UserId: aws.String(approvaltest.Targets.Accounts[0])}},
			},
		})
		iam.WantDenied(t, err, "UnauthorizedOperation", "ec2:ModifyImageAttribute", ami)
		if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
			t.Errorf("launch permissions of %s = %v, want none", ami, got)
		}
	})

	t.Run("notify the targets", func(t *testing.T) {
		_, err := sns.NewFromConfig(f.role.Config).Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(f.env.TargetTopic), Subject: aws.String("AMI shared"), Message: aws.String(ami + " is shared with you"),
		})
		iam.WantDenied(t, err, "AuthorizationError", "sns:Publish", f.env.TargetTopic)
		if msgs := f.env.Target.Receive(t); len(msgs) != 0 {
			t.Errorf("target notices = %+v, want none", msgs)
		}
	})
}
