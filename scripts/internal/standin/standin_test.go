package standin

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// The stand-in answers what moto lacks itself, in EC2's shapes, so the
// SDK reads its answers and its errors as it reads EC2's, and passes every
// other call on to moto.
func TestStandInAnswersInEC2Shapes(t *testing.T) {
	moto := awstest.Moto(t)
	cfg, _ := moto.Config(t)
	s, err := Start(moto.URL, ec2.NewFromConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(s.URL) })
	ctx := context.Background()

	_, err = c.CreateReplaceRootVolumeTask(ctx, &ec2.CreateReplaceRootVolumeTaskInput{InstanceId: aws.String("i-0123456789abcdef0")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidInstanceID.NotFound" {
		t.Errorf("CreateReplaceRootVolumeTask(unknown instance) = %v, want the API error InvalidInstanceID.NotFound", err)
	}
	tasks, err := c.DescribeReplaceRootVolumeTasks(ctx, &ec2.DescribeReplaceRootVolumeTasksInput{})
	if err != nil || len(tasks.ReplaceRootVolumeTasks) != 0 {
		t.Errorf("DescribeReplaceRootVolumeTasks() = %v, %v, want no tasks", tasks, err)
	}
	if _, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{}); err != nil {
		t.Errorf("DescribeVolumes() through the stand-in = %v, want moto's answer", err)
	}
}
