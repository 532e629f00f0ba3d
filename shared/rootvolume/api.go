package rootvolume

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// The AWS calls each part of the package makes, with the SDK's signatures.

type snapshotAPI interface {
	ec2.DescribeVolumesAPIClient
	ec2.DescribeSnapshotsAPIClient
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	CreateSnapshot(context.Context, *ec2.CreateSnapshotInput, ...func(*ec2.Options)) (*ec2.CreateSnapshotOutput, error)
}

// TaskAPI is the pair of EC2 calls that moto lacks; tests fake it with
// EC2's semantics (replacetest.Tasks).
type TaskAPI interface {
	CreateReplaceRootVolumeTask(context.Context, *ec2.CreateReplaceRootVolumeTaskInput, ...func(*ec2.Options)) (*ec2.CreateReplaceRootVolumeTaskOutput, error)
	ec2.DescribeReplaceRootVolumeTasksAPIClient
}

type replaceAPI interface {
	ec2.DescribeSnapshotsAPIClient
	DescribeInstances(context.Context, *ec2.DescribeInstancesInput, ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	ec2.DescribeReplaceRootVolumeTasksAPIClient
	CreateReplaceRootVolumeTask(context.Context, *ec2.CreateReplaceRootVolumeTaskInput, ...func(*ec2.Options)) (*ec2.CreateReplaceRootVolumeTaskOutput, error)
}

type cleanupAPI interface {
	ec2.DescribeVolumesAPIClient
	ec2.DescribeSnapshotsAPIClient
	ec2.DescribeImagesAPIClient
	ec2.DescribeInstancesAPIClient
	ec2.DescribeReplaceRootVolumeTasksAPIClient
	ec2.ListImagesInRecycleBinAPIClient
	DescribeLockedSnapshots(context.Context, *ec2.DescribeLockedSnapshotsInput, ...func(*ec2.Options)) (*ec2.DescribeLockedSnapshotsOutput, error)
	DeleteVolume(context.Context, *ec2.DeleteVolumeInput, ...func(*ec2.Options)) (*ec2.DeleteVolumeOutput, error)
	DeleteSnapshot(context.Context, *ec2.DeleteSnapshotInput, ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
	CreateTags(context.Context, *ec2.CreateTagsInput, ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	DeleteTags(context.Context, *ec2.DeleteTagsInput, ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
}

type tableAPI interface {
	dynamodb.ScanAPIClient
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
}

var (
	_ snapshotAPI = (*ec2.Client)(nil)
	_ replaceAPI  = (*ec2.Client)(nil)
	_ cleanupAPI  = (*ec2.Client)(nil)
	_ TaskAPI     = (*ec2.Client)(nil)
	_ tableAPI    = (*dynamodb.Client)(nil)
)
