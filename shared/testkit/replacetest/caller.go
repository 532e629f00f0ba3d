package replacetest

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// Caller is the fake as a function sees it under its role: the EC2 calls
// the fake does not answer go through Client (through the IAM layer, as
// the role), and those it answers are authorized first, with the
// parameters EC2's Query protocol would carry, as EC2 would authorize them.
type Caller struct {
	*ec2.Client
	Tasks *Tasks
	// Authorize is the IAM layer's check (iam.Function.Authorizer("ec2")).
	Authorize func(ctx context.Context, form url.Values) error
}

// As returns the fake as the principal whose client c is.
func (f *Tasks) As(c *ec2.Client, authorize func(context.Context, url.Values) error) *Caller {
	return &Caller{Client: c, Tasks: f, Authorize: authorize}
}

// CreateReplaceRootVolumeTask authorizes the call, then lets the fake answer it.
func (c *Caller) CreateReplaceRootVolumeTask(ctx context.Context, in *ec2.CreateReplaceRootVolumeTaskInput, _ ...func(*ec2.Options)) (*ec2.CreateReplaceRootVolumeTaskOutput, error) {
	form := url.Values{"Action": {"CreateReplaceRootVolumeTask"}, "InstanceId": {aws.ToString(in.InstanceId)}}
	for name, v := range map[string]*string{"SnapshotId": in.SnapshotId, "ImageId": in.ImageId, "ClientToken": in.ClientToken} {
		if v != nil {
			form.Set(name, *v)
		}
	}
	if in.VolumeInitializationRate != nil {
		form.Set("VolumeInitializationRate", fmt.Sprint(*in.VolumeInitializationRate))
	}
	if in.DeleteReplacedRootVolume != nil {
		form.Set("DeleteReplacedRootVolume", fmt.Sprint(*in.DeleteReplacedRootVolume))
	}
	for i, spec := range in.TagSpecifications {
		form.Set(fmt.Sprintf("TagSpecification.%d.ResourceType", i+1), string(spec.ResourceType))
		for j, tag := range spec.Tags {
			form.Set(fmt.Sprintf("TagSpecification.%d.Tag.%d.Key", i+1, j+1), aws.ToString(tag.Key))
			form.Set(fmt.Sprintf("TagSpecification.%d.Tag.%d.Value", i+1, j+1), aws.ToString(tag.Value))
		}
	}
	if err := c.Authorize(ctx, form); err != nil {
		return nil, err
	}
	return c.Tasks.CreateReplaceRootVolumeTask(ctx, in)
}

// DescribeReplaceRootVolumeTasks authorizes the call, then lets the fake answer it.
func (c *Caller) DescribeReplaceRootVolumeTasks(ctx context.Context, in *ec2.DescribeReplaceRootVolumeTasksInput, _ ...func(*ec2.Options)) (*ec2.DescribeReplaceRootVolumeTasksOutput, error) {
	if err := c.Authorize(ctx, url.Values{"Action": {"DescribeReplaceRootVolumeTasks"}}); err != nil {
		return nil, err
	}
	return c.Tasks.DescribeReplaceRootVolumeTasks(ctx, in)
}

// ListImagesInRecycleBin authorizes the call, then lets the fake answer it.
func (c *Caller) ListImagesInRecycleBin(ctx context.Context, in *ec2.ListImagesInRecycleBinInput, _ ...func(*ec2.Options)) (*ec2.ListImagesInRecycleBinOutput, error) {
	if err := c.Authorize(ctx, url.Values{"Action": {"ListImagesInRecycleBin"}}); err != nil {
		return nil, err
	}
	return c.Tasks.ListImagesInRecycleBin(ctx, in)
}

// DescribeLockedSnapshots authorizes the call, then lets the fake answer it.
func (c *Caller) DescribeLockedSnapshots(ctx context.Context, in *ec2.DescribeLockedSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeLockedSnapshotsOutput, error) {
	if err := c.Authorize(ctx, url.Values{"Action": {"DescribeLockedSnapshots"}}); err != nil {
		return nil, err
	}
	return c.Tasks.DescribeLockedSnapshots(ctx, in)
}
