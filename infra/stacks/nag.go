package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// The stacks' answers to cdk-nag's AwsSolutionsChecks (run on every stack
// by the infra tests, TestCDKNag): each suppression is on the construct it
// concerns, with the reason, so an operator running cdk-nag sees both. The
// checks fixed instead of suppressed (SSL-only queues and buckets, log
// retention, encryption) need nothing here.

// AddNagChecks adds cdk-nag's AwsSolutionsChecks to scope (a stack, or the
// whole app): at synthesis its findings become error and warning
// annotations, less what the stacks suppress below. The infra tests run it
// on every stack; `cdk synth -c nag=true` runs it on the app.
func AddNagChecks(scope constructs.IConstruct) {
	awscdk.Aspects_Of(scope).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// Reasons shared by several stacks.
const (
	nagBasicExecution = "AWSLambdaBasicExecutionRole grants only the function's own CloudWatch Logs writes; it is the policy Lambda documents for that, and a copy would drift from it"
	nagScopedGrants   = "Each wildcard is either the ARN pattern of one resource type narrowed by a tag or Image Builder condition (deletes and shares), a read-only action, or an action without resource-level permissions (Describe*, CodePipeline job answers); TestIAMLeastPrivilege checks every statement"
	nagOnFailureQueue = "This queue is the function's on-failure destination, the dead-letter store itself; a dead-letter queue behind it would only move the same messages again"
	nagCDKGrants      = "Written by CDK's own grant methods for the pipeline's buckets and actions: object wildcards within the stack's own buckets"
	nagNoAccessLogs   = "Server access logs would need a log bucket of their own; the bucket holds only code or build artifacts written by this stack, and CloudTrail data events can audit it where an operator wants that"
)

func suppress(c constructs.IConstruct, children bool, rules ...[2]string) {
	list := make([]*cdknag.NagPackSuppression, len(rules))
	for i, r := range rules {
		list[i] = &cdknag.NagPackSuppression{Id: jsii.String(r[0]), Reason: jsii.String(r[1])}
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &list, jsii.Bool(children))
}

// nagFunction answers for the house Function: its role and its queue.
func nagFunction(f *Function) {
	suppress(f.Function, true,
		[2]string{"AwsSolutions-IAM4", nagBasicExecution},
		[2]string{"AwsSolutions-IAM5", nagScopedGrants})
	if f.OnFailureQueue != nil {
		suppress(f.OnFailureQueue, true, [2]string{"AwsSolutions-SQS3", nagOnFailureQueue})
	}
}

// nagApprovalAPI answers for the approval page's HTTP API. Call it after
// the routes are added: a suppression reaches the children it finds.
func nagApprovalAPI(api constructs.IConstruct) {
	suppress(api, true, [2]string{"AwsSolutions-APIG4",
		"The approval page is for approvers without AWS credentials: each request carries a one-time approval token that the function checks (and a wrong one reveals nothing), so an IAM or Cognito authorizer would lock the approvers out"})
}

// nagExamplePipeline answers for the health gate's example pipeline and
// its buckets.
func nagExamplePipeline(pipeline constructs.IConstruct, buckets ...constructs.IConstruct) {
	suppress(pipeline, true, [2]string{"AwsSolutions-IAM5", nagCDKGrants})
	for _, b := range buckets {
		suppress(b, true, [2]string{"AwsSolutions-S1", nagNoAccessLogs})
	}
}

// nagOrgAssets answers for an organization asset stack: its bucket, and
// the function CDK adds to copy the code into it.
func nagOrgAssets(stack awscdk.Stack, bucket constructs.IConstruct) {
	suppress(bucket, true, [2]string{"AwsSolutions-S1", nagNoAccessLogs})
	for _, c := range *stack.Node().Children() {
		if strings.HasPrefix(*c.Node().Id(), "Custom::CDKBucketDeployment") {
			suppress(c, true,
				[2]string{"AwsSolutions-IAM4", nagBasicExecution},
				[2]string{"AwsSolutions-IAM5", "CDK's BucketDeployment copies the code into this stack's bucket: its grants are object wildcards within that one bucket"},
				[2]string{"AwsSolutions-L1", "CDK's BucketDeployment provider: aws-cdk-lib sets its runtime, and moves it with each release"})
		}
	}
}

// nagInvokeGrant answers for a role whose only wildcard is CDK's grant to
// invoke one function: its ARN and "<ARN>:*" for versions and aliases.
func nagInvokeGrant(role constructs.IConstruct) {
	suppress(role, true, [2]string{"AwsSolutions-IAM5", "CDK's grantInvoke: one function, \"<function ARN>:*\" covering only its versions and aliases"})
}

// nagImageBuilderInstanceRole answers for the role of the build instances
// of the approval workflow's example Image Builder pipeline.
func nagImageBuilderInstanceRole(role constructs.IConstruct) {
	suppress(role, false, [2]string{"AwsSolutions-IAM4",
		"AmazonSSMManagedInstanceCore and EC2InstanceProfileForImageBuilder are the policies Image Builder documents for its build instances (SSM runs the build, the other reads components and writes logs); a copy would drift from what Image Builder needs, and the role exists only with AmiApprovalExamplePipeline=true"})
}

// nagImageBuilderExecutionRole answers for the role Image Builder runs the
// example pipeline's workflows as.
func nagImageBuilderExecutionRole(role constructs.IConstruct) {
	suppress(role, false, [2]string{"AwsSolutions-IAM4",
		"EC2ImageBuilderExecutionPolicy is the AWS managed policy for the execution role of a pipeline with workflows; a copy would drift from what Image Builder's workflow actions need, and the role exists only with AmiApprovalExamplePipeline=true"})
}
