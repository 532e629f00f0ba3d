package awstest

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// AMI is an image moto knows in every account (amzn-ami-hvm, EBS-backed).
const AMI = "ami-12c6146b"

// RunInstance starts one instance named name (its Name tag) and returns it
// as DescribeInstances shows it, root volume included.
func RunInstance(tb testing.TB, c *ec2.Client, name string) types.Instance {
	tb.Helper()
	ctx := context.Background()
	out, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(AMI), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		InstanceType: types.InstanceTypeT3Micro,
		Placement:    &types.Placement{AvailabilityZone: aws.String(Region + "a")},
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeInstance,
			Tags:         []types.Tag{{Key: aws.String("Name"), Value: aws.String(name)}},
		}},
	})
	if err != nil {
		tb.Fatalf("RunInstances: %v", err)
	}
	return DescribeInstance(tb, c, aws.ToString(out.Instances[0].InstanceId))
}

// DescribeInstance returns the instance with its current block devices.
func DescribeInstance(tb testing.TB, c *ec2.Client, id string) types.Instance {
	tb.Helper()
	out, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil || len(out.Reservations) != 1 || len(out.Reservations[0].Instances) != 1 {
		tb.Fatalf("DescribeInstances(%s) = %v, %v", id, out, err)
	}
	return out.Reservations[0].Instances[0]
}

// CreateVolume makes a volume in the instances' Availability Zone, with tags.
func CreateVolume(tb testing.TB, c *ec2.Client, tags ...types.Tag) string {
	tb.Helper()
	in := &ec2.CreateVolumeInput{AvailabilityZone: aws.String(Region + "a"), Size: aws.Int32(8)}
	if len(tags) > 0 {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeVolume, Tags: tags}}
	}
	out, err := c.CreateVolume(context.Background(), in)
	if err != nil {
		tb.Fatalf("CreateVolume: %v", err)
	}
	return aws.ToString(out.VolumeId)
}

// AttachVolume attaches a volume to an instance at device.
func AttachVolume(tb testing.TB, c *ec2.Client, volumeID, instanceID, device string) {
	tb.Helper()
	_, err := c.AttachVolume(context.Background(), &ec2.AttachVolumeInput{
		VolumeId: aws.String(volumeID), InstanceId: aws.String(instanceID), Device: aws.String(device),
	})
	if err != nil {
		tb.Fatalf("AttachVolume(%s, %s, %s): %v", volumeID, instanceID, device, err)
	}
}

// CreateSnapshot snapshots a volume with tags and returns its ID.
func CreateSnapshot(tb testing.TB, c *ec2.Client, volumeID string, tags ...types.Tag) string {
	tb.Helper()
	in := &ec2.CreateSnapshotInput{VolumeId: aws.String(volumeID)}
	if len(tags) > 0 {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeSnapshot, Tags: tags}}
	}
	out, err := c.CreateSnapshot(context.Background(), in)
	if err != nil {
		tb.Fatalf("CreateSnapshot(%s): %v", volumeID, err)
	}
	return aws.ToString(out.SnapshotId)
}

// Tag builds an EC2 tag.
func Tag(key, value string) types.Tag {
	return types.Tag{Key: aws.String(key), Value: aws.String(value)}
}

// SnapshotsOf lists the account's snapshots of volumeID (moto's public
// snapshots excluded by the volume filter).
func SnapshotsOf(tb testing.TB, c *ec2.Client, volumeID string) []types.Snapshot {
	tb.Helper()
	out, err := c.DescribeSnapshots(context.Background(), &ec2.DescribeSnapshotsInput{
		Filters: []types.Filter{{Name: aws.String("volume-id"), Values: []string{volumeID}}},
	})
	if err != nil {
		tb.Fatalf("DescribeSnapshots(volume %s): %v", volumeID, err)
	}
	return out.Snapshots
}
