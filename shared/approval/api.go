package approval

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// The AWS calls the package makes, with the SDK's signatures.

type tableAPI interface {
	GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	TransactWriteItems(context.Context, *dynamodb.TransactWriteItemsInput, ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
	Scan(context.Context, *dynamodb.ScanInput, ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

// NameAPI reads AMIs' names and creation dates in one Region.
type NameAPI interface {
	DescribeImages(context.Context, *ec2.DescribeImagesInput, ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// ImageAPI is what the link function does with EC2 in an AMI's Region.
type ImageAPI interface {
	NameAPI
	DescribeSnapshots(context.Context, *ec2.DescribeSnapshotsInput, ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	ModifyImageAttribute(context.Context, *ec2.ModifyImageAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
}

// BuildAPI is what the functions ask of Image Builder in a build's Region:
// what the build made (GetImage) and, in the workflow flow, its waiting
// step (GetWorkflowStepExecution), which the page resumes or stops
// (SendWorkflowStepAction). One client per Region serves both flows.
type BuildAPI interface {
	GetImage(context.Context, *imagebuilder.GetImageInput, ...func(*imagebuilder.Options)) (*imagebuilder.GetImageOutput, error)
	GetWorkflowStepExecution(context.Context, *imagebuilder.GetWorkflowStepExecutionInput, ...func(*imagebuilder.Options)) (*imagebuilder.GetWorkflowStepExecutionOutput, error)
	SendWorkflowStepAction(context.Context, *imagebuilder.SendWorkflowStepActionInput, ...func(*imagebuilder.Options)) (*imagebuilder.SendWorkflowStepActionOutput, error)
}

// KeyAPI tells an AWS managed KMS key from a customer managed one.
type KeyAPI interface {
	DescribeKey(context.Context, *kms.DescribeKeyInput, ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

var (
	_ tableAPI = (*dynamodb.Client)(nil)
	_ ImageAPI = (*ec2.Client)(nil)
	_ KeyAPI   = (*kms.Client)(nil)
	_ BuildAPI = (*imagebuilder.Client)(nil)
)

// Regional makes one client per Region on first use: a build's AMIs live in
// the Regions of its distribution, and each is shared from its own Region.
type Regional[T any] struct {
	New func(region string) T

	mu      sync.Mutex
	clients map[string]T
}

// In returns the client for region.
func (r *Regional[T]) In(region string) T {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[region]; ok {
		return c
	}
	if r.clients == nil {
		r.clients = map[string]T{}
	}
	c := r.New(region)
	r.clients[region] = c
	return c
}
