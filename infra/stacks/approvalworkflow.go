package stacks

import (
	_ "embed"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsimagebuilder"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"
)

// The workflow mode of the AMI approval: a build paused at a workflow's
// WaitForAction step is approved on the same page, which resumes (or
// stops) the step; the workflow's distribution shares the AMIs.

// approvalWorkflowDocument is the example workflow's document: a test
// workflow ending in the WaitForAction step ApproveImage.
// infra/sam/ami-approval.yaml carries the same text (TestApprovalWorkflowDocument).
//
//go:embed workflows/approve-before-distribution.yaml
var approvalWorkflowDocument string

// Logical IDs of the workflow mode's resources.
const (
	approvalStepRuleID        = "AmiApprovalStepWaitingRule"
	approvalExampleCnd        = "AmiApprovalExamplePipelineEnabled"
	approvalExampleWorkflowID = "AmiApprovalExampleTestWorkflow"
	approvalExamplePipelineID = "AmiApprovalExampleImagePipeline"
	// The role Image Builder assumes to run the example pipeline's workflows.
	approvalExampleExecutionRoleID = "AmiApprovalExampleExecutionRole"
)

// stepWaitingPattern is the EventBridge pattern of Image Builder's
// waiting-step event (Image Builder user guide, "Event messages that Image
// Builder sends").
func stepWaitingPattern() *awsevents.EventPattern {
	return &awsevents.EventPattern{
		Source:     jsii.Strings("aws.imagebuilder"),
		DetailType: jsii.Strings("EC2 Image Builder Workflow Step Waiting"),
		// No account filter: a service's events reach only the default bus
		// of the account they happen in.
	}
}

// imageBuildVersion is this account's image build versions, in every
// Region: the builds the workflow mode acts on.
func imageBuildVersion(stack awscdk.Stack) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("imagebuilder"), Region: jsii.String("*"), Resource: jsii.String("image"), ResourceName: jsii.String("*/*/*"),
	})
}

// workflowStepExecution is this account's workflow step executions, in
// every Region: the steps the workflow mode reads and answers. (Service
// Authorization Reference, "Actions, resources, and condition keys for
// Amazon EC2 Image Builder": resource type workflowStepExecution,
// arn:${Partition}:imagebuilder:${Region}:${Account}:workflow-step-execution/${WorkflowStepExecutionId}.)
func workflowStepExecution(stack awscdk.Stack) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("imagebuilder"), Region: jsii.String("*"), Resource: jsii.String("workflow-step-execution"), ResourceName: jsii.String("*"),
	})
}

// readStep lets a function read a build's workflow steps:
// GetWorkflowStepExecution's only resource type is workflowStepExecution.
func readStep(stack awscdk.Stack) awsiam.PolicyStatement {
	return statement("ReadWorkflowSteps", []string{"imagebuilder:GetWorkflowStepExecution"}, []*string{workflowStepExecution(stack)}, nil)
}

// actOnStep lets the page resume or stop a waiting step of this account's
// builds: SendWorkflowStepAction requires both the image (build version)
// and the workflowStepExecution resource types.
func actOnStep(stack awscdk.Stack) awsiam.PolicyStatement {
	return statement("ActOnWorkflowSteps", []string{"imagebuilder:SendWorkflowStepAction"},
		[]*string{imageBuildVersion(stack), workflowStepExecution(stack)}, nil)
}

// routeStepWaiting sends the waiting-step event to the request function.
func routeStepWaiting(stack awscdk.Stack, request awslambda.Function) {
	rule := awsevents.NewRule(stack, jsii.String("StepWaitingRule"), &awsevents.RuleProps{
		Description:  jsii.String("Image Builder builds paused at a WaitForAction step: ask for approval"),
		EventPattern: stepWaitingPattern(),
		Targets:      &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(request, nil)},
	})
	pinLogicalID(rule, approvalStepRuleID)
}

// exampleApprovalPipeline adds, when the parameter AmiApprovalExamplePipeline
// is "true" (default "false"), an Image Builder pipeline that shows the
// whole workflow mode: Amazon Linux 2023 updated by the managed build
// workflow, the example test workflow that waits at ApproveImage, and a
// distribution in this Region that runs only once the step is resumed. It
// has no schedule: start it by hand. It returns the pipeline's execution
// role and the condition it is made under.
func exampleApprovalPipeline(stack awscdk.Stack) (awsiam.CfnRole, awscdk.CfnCondition) {
	enabled := awscdk.NewCfnParameter(stack, jsii.String("AmiApprovalExamplePipeline"), &awscdk.CfnParameterProps{
		Type: jsii.String("String"), Default: jsii.String("false"), AllowedValues: jsii.Strings("true", "false"),
		Description: jsii.String("true: deploy an example Image Builder pipeline whose test workflow waits for approval before distribution."),
	})
	cnd := awscdk.NewCfnCondition(stack, jsii.String(approvalExampleCnd), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(enabled.ValueAsString(), jsii.String("true")),
	})
	when := func(r awscdk.CfnResource, id string) {
		r.CfnOptions().SetCondition(cnd)
		pinLogicalID(r, id)
	}

	workflow := awsimagebuilder.NewCfnWorkflow(stack, jsii.String("ExampleTestWorkflow"), &awsimagebuilder.CfnWorkflowProps{
		Name: jsii.String("ami-approval-approve-before-distribution"), Version: jsii.String("1.0.0"), Type: jsii.String("TEST"),
		Description: jsii.String("Waits at ApproveImage for the AMI approval page before distribution."),
		Data:        jsii.String(approvalWorkflowDocument),
	})
	when(workflow, approvalExampleWorkflowID)

	role := awsiam.NewCfnRole(stack, jsii.String("ExampleInstanceRole"), &awsiam.CfnRoleProps{
		AssumeRolePolicyDocument: map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole",
		}}},
		ManagedPolicyArns: &[]any{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("AmazonSSMManagedInstanceCore")).ManagedPolicyArn(),
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("EC2InstanceProfileForImageBuilder")).ManagedPolicyArn(),
		},
	})
	when(role, "AmiApprovalExampleInstanceRole")
	nagImageBuilderInstanceRole(role)
	profile := awsiam.NewCfnInstanceProfile(stack, jsii.String("ExampleInstanceProfile"), &awsiam.CfnInstanceProfileProps{
		Roles: &[]any{role.Ref()},
	})
	when(profile, "AmiApprovalExampleInstanceProfile")
	infra := awsimagebuilder.NewCfnInfrastructureConfiguration(stack, jsii.String("ExampleInfrastructure"), &awsimagebuilder.CfnInfrastructureConfigurationProps{
		Name: jsii.String("ami-approval-example"), InstanceProfileName: profile.Ref(),
		InstanceTypes: jsii.Strings("t3.small"), TerminateInstanceOnFailure: jsii.Bool(true),
	})
	when(infra, "AmiApprovalExampleInfrastructure")
	recipe := awsimagebuilder.NewCfnImageRecipe(stack, jsii.String("ExampleRecipe"), &awsimagebuilder.CfnImageRecipeProps{
		Name: jsii.String("ami-approval-example"), Version: jsii.String("1.0.0"),
		ParentImage: awsManaged(stack, "image", "amazon-linux-2023-x86/x.x.x"),
		Components: &[]any{&awsimagebuilder.CfnImageRecipe_ComponentConfigurationProperty{
			ComponentArn: awsManaged(stack, "component", "update-linux/x.x.x"),
		}},
	})
	when(recipe, "AmiApprovalExampleRecipe")
	// A pipeline with workflows runs them as an execution role of its own,
	// which Image Builder requires ("An execution role is required to
	// provide workflows"). EC2ImageBuilderExecutionPolicy is the AWS managed
	// policy for it (AWS Managed Policy Reference,
	// EC2ImageBuilderExecutionPolicy: "Grants permissions that allow EC2
	// Image Builder to call AWS services on your behalf";
	// arn:aws:iam::aws:policy/EC2ImageBuilderExecutionPolicy). Image Builder
	// assumes it for this account's pipelines only.
	execution := awsiam.NewCfnRole(stack, jsii.String("ExampleExecutionRole"), &awsiam.CfnRoleProps{
		Description: jsii.String("Image Builder runs the AMI approval example pipeline's workflows as this role"),
		AssumeRolePolicyDocument: map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
			"Effect": "Allow", "Principal": map[string]any{"Service": "imagebuilder.amazonaws.com"}, "Action": "sts:AssumeRole",
			"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}}},
		ManagedPolicyArns: &[]any{
			awsiam.ManagedPolicy_FromAwsManagedPolicyName(jsii.String("EC2ImageBuilderExecutionPolicy")).ManagedPolicyArn(),
		},
	})
	when(execution, approvalExampleExecutionRoleID)
	nagImageBuilderExecutionRole(execution)
	dist := awsimagebuilder.NewCfnDistributionConfiguration(stack, jsii.String("ExampleDistribution"), &awsimagebuilder.CfnDistributionConfigurationProps{
		Name: jsii.String("ami-approval-example"),
		Distributions: &[]any{&awsimagebuilder.CfnDistributionConfiguration_DistributionProperty{
			Region: awscdk.Aws_REGION(),
			AmiDistributionConfiguration: map[string]any{
				"Name":        "ami-approval-example-{{ imagebuilder:buildDate }}",
				"Description": "Approved on the AMI approval page before distribution",
			},
		}},
	})
	when(dist, "AmiApprovalExampleDistribution")
	pipeline := awsimagebuilder.NewCfnImagePipeline(stack, jsii.String("ExamplePipeline"), &awsimagebuilder.CfnImagePipelineProps{
		Name:                           jsii.String("ami-approval-example"),
		Description:                    jsii.String("Example: build, test, wait for approval on the AMI approval page, then distribute."),
		ImageRecipeArn:                 recipe.AttrArn(),
		InfrastructureConfigurationArn: infra.AttrArn(),
		DistributionConfigurationArn:   dist.AttrArn(),
		ExecutionRole:                  execution.AttrArn(),
		Workflows: &[]any{
			&awsimagebuilder.CfnImagePipeline_WorkflowConfigurationProperty{
				WorkflowArn: awsManaged(stack, "workflow", "build/build-image/x.x.x"),
			},
			&awsimagebuilder.CfnImagePipeline_WorkflowConfigurationProperty{WorkflowArn: workflow.AttrArn()},
		},
	})
	when(pipeline, approvalExamplePipelineID)
	return execution, cnd
}

// awsManaged is the ARN of an Image Builder resource that AWS owns (account
// "aws") in the stack's Region.
func awsManaged(stack awscdk.Stack, resource, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("imagebuilder"), Account: jsii.String("aws"), Resource: jsii.String(resource), ResourceName: jsii.String(name),
	})
}
