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
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/notifytest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
)

// TestRoleCannotDeleteWhatIsNotLabelled: the cleanup's role, used directly
// (no plan to check first), may not delete a volume without
// DELETE_VOLUME_TAG or a snapshot without SNAPSHOT_TAG, put any other
// label on a volume, label a snapshot as the suite's (which would make it
// deletable), write a table other than the replacements table, or publish
// to another topic. IAM refuses each, and nothing changes.
func TestRoleCannotDeleteWhatIsNotLabelled(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	vol := awstest.CreateVolume(t, f.ec2)
	snap := awstest.CreateSnapshot(t, f.ec2, vol)
	kept := awstest.CreateVolume(t, f.ec2, deleteTag, keepTag)
	keptUnlabelled := awstest.CreateVolume(t, f.ec2, keepTag)
	keptSnap := awstest.CreateSnapshot(t, f.ec2, vol, snapshotTag, keepTag)
	otherTable := "other-table"
	replacetest.CreateTable(t, f.db, otherTable)
	adminSNS := sns.NewFromConfig(f.cfg)
	otherTopic := approvaltest.CreateTopic(t, adminSNS, "other-topic")
	otherInbox := approvaltest.NewInbox(t, adminSNS, sqs.NewFromConfig(f.cfg), otherTopic)
	roleEC2 := f.caller.Client
	roleDB := dynamodb.NewFromConfig(f.role.Config)
	roleSNS := sns.NewFromConfig(f.role.Config)

	tests := []struct {
		name, code, action string
		call               func() error
	}{
		{"delete an unlabelled volume", "UnauthorizedOperation", "ec2:DeleteVolume", func() error {
			_, err := roleEC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(vol)})
			return err
		}},
		{"delete an unlabelled snapshot", "UnauthorizedOperation", "ec2:DeleteSnapshot", func() error {
			_, err := roleEC2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snap)})
			return err
		}},
		{"label a volume to keep it", "UnauthorizedOperation", "ec2:CreateTags", func() error {
			_, err := roleEC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{vol}, Tags: []types.Tag{keepTag}})
			return err
		}},
		{"label a snapshot as the suite's", "UnauthorizedOperation", "ec2:CreateTags", func() error {
			_, err := roleEC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{snap}, Tags: []types.Tag{snapshotTag}})
			return err
		}},
		{"write another table", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(otherTable),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "forged"}}})
			return err
		}},
		// Each role writes only the records it owns (dynamodb:LeadingKeys).
		{"write a root record", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "root#vol-0123456789abcdef0"}}})
			return err
		}},
		{"write an invocation record", "AccessDeniedException", "dynamodb:PutItem", func() error {
			_, err := roleDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(table),
				Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "invocation#event:forged"}}})
			return err
		}},
		// KEEP_TAG holds against the role itself (an explicit Deny).
		{"delete a labelled volume that carries KEEP_TAG", "UnauthorizedOperation", "ec2:DeleteVolume", func() error {
			_, err := roleEC2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(kept)})
			return err
		}},
		{"label a volume that carries KEEP_TAG", "UnauthorizedOperation", "ec2:CreateTags", func() error {
			_, err := roleEC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{keptUnlabelled}, Tags: []types.Tag{deleteTag}})
			return err
		}},
		{"delete a suite snapshot that carries KEEP_TAG", "UnauthorizedOperation", "ec2:DeleteSnapshot", func() error {
			_, err := roleEC2.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(keptSnap)})
			return err
		}},
		{"publish to another topic", "AuthorizationError", "sns:Publish", func() error {
			_, err := roleSNS.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(otherTopic), Subject: aws.String("forged"), Message: aws.String("forged")})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iam.WantDenied(t, tt.call(), tt.code, tt.action, "")
		})
	}

	if !exists(t, f.ec2, "volume", vol) || !exists(t, f.ec2, "snapshot", snap) || !exists(t, f.ec2, "volume", kept) || !exists(t, f.ec2, "snapshot", keptSnap) {
		t.Errorf("a volume or snapshot was deleted")
	}
	if got := volumeTag(t, f.ec2, keptUnlabelled, "delete-volume"); got != "" {
		t.Errorf("KEEP_TAG volume %s labelled delete-volume=%q", keptUnlabelled, got)
	}
	if got := volumeTag(t, f.ec2, vol, "lambda-suite:keep"); got != "" {
		t.Errorf("volume %s tagged lambda-suite:keep=%q", vol, got)
	}
	out, err := f.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snap}})
	if err != nil || len(out.Snapshots) != 1 || len(out.Snapshots[0].Tags) != 0 {
		t.Errorf("DescribeSnapshots(%s) = %+v, %v, want one snapshot without tags", snap, out, err)
	}
	items, err := f.db.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(otherTable), ConsistentRead: aws.Bool(true)})
	if err != nil || len(items.Items) != 0 {
		t.Errorf("Scan(%s) = %v, %v, want no items", otherTable, items, err)
	}
	notifytest.CheckNone(t, otherInbox)
}
