package iam

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// layerFor starts a layer in front of moto and a principal with policy.
func layerFor(t *testing.T, documents ...string) (aws.Config, aws.Config, string) {
	t.Helper()
	cfg, acct := awstest.Moto(t).Config(t)
	l := Start(t, aws.ToString(cfg.BaseEndpoint))
	p, err := l.NewPrincipal("tester", acct, documents...)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, l.Config(cfg, p), acct
}

func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// TestEC2DeleteOnlyWhatTheTagAllows: the condition on aws:ResourceTag is
// read from the volume's real tags in moto.
func TestEC2DeleteOnlyWhatTheTagAllows(t *testing.T) {
	admin, as, _ := layerFor(t, `{"Version":"2012-10-17","Statement":[
	  {"Effect":"Allow","Action":"ec2:DeleteVolume","Resource":"arn:aws:ec2:*:*:volume/*","Condition":{"StringEquals":{"aws:ResourceTag/delete":"yes"}}}]}`)
	ctx := context.Background()
	adm := ec2.NewFromConfig(admin)
	tagged := awstest.CreateVolume(t, adm, awstest.Tag("delete", "yes"))
	untagged := awstest.CreateVolume(t, adm)
	c := ec2.NewFromConfig(as)
	if _, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(tagged)}); err != nil {
		t.Errorf("DeleteVolume(tagged) = %v, want allowed", err)
	}
	_, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(untagged)})
	if apiCode(err) != "UnauthorizedOperation" || !strings.Contains(err.Error(), "ec2:DeleteVolume") || !strings.Contains(err.Error(), untagged) {
		t.Errorf("DeleteVolume(untagged) = %v, want UnauthorizedOperation naming ec2:DeleteVolume and the volume", err)
	}
	if _, err := adm.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{untagged}}); err != nil {
		t.Errorf("the denied volume is gone: %v", err)
	}
}

// TestEachProtocolAnswersADenialAsAWSDoes: the SDK sees the error code
// each service uses.
func TestEachProtocolAnswersADenialAsAWSDoes(t *testing.T) {
	admin, as, acct := layerFor(t, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVolumes","Resource":"*"}]}`)
	ctx := context.Background()
	awstest.CreateTable(t, dynamodb.NewFromConfig(admin), "t", "")
	topic, err := sns.NewFromConfig(admin).CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("n")})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, code, action, resource string
		call                         func() error
	}{
		{"json (DynamoDB)", "AccessDeniedException", "dynamodb:PutItem", "arn:aws:dynamodb:us-east-1:" + acct + ":table/t", func() error {
			_, err := dynamodb.NewFromConfig(as).PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("t"), Item: map[string]dbtypes.AttributeValue{"id": &dbtypes.AttributeValueMemberS{Value: "x"}}})
			return err
		}},
		{"query (SNS)", "AuthorizationError", "sns:Publish", aws.ToString(topic.TopicArn), func() error {
			_, err := sns.NewFromConfig(as).Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String("m")})
			return err
		}},
		{"ec2", "UnauthorizedOperation", "ec2:DescribeInstances", "*", func() error {
			_, err := ec2.NewFromConfig(as).DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if apiCode(err) != tt.code || !strings.Contains(err.Error(), tt.action) || !strings.Contains(err.Error(), tt.resource) {
				t.Errorf("call = %v, want %s naming %s on %s", err, tt.code, tt.action, tt.resource)
			}
		})
	}
	if _, err := ec2.NewFromConfig(as).DescribeVolumes(ctx, &ec2.DescribeVolumesInput{}); err != nil {
		t.Errorf("DescribeVolumes = %v, want allowed", err)
	}
}
