package stacks

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipeline"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscodepipelineactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
)

// The pipeline-health capability's functions, by folder name.
const (
	PipelineHealthGate = "pipeline-health-gate"
	PipelineStageRetry = "pipeline-stage-retry"
)

// HealthGateFunctions lists the folders the pipeline-health stack deploys.
var HealthGateFunctions = []string{PipelineHealthGate, PipelineStageRetry}

// Defaults of HealthGateStackProps, shared with template.yaml.
const (
	DefaultExamplePipelineName = "health-gate-example"
	// DefaultExampleUserParameters gates the function's own Region (no
	// "regions"), waiting up to two hours for EC2 and S3 issues to close.
	DefaultExampleUserParameters = `{"services":["EC2","S3"],"eventTypeCategories":["issue"],"mode":"wait","maxWait":"2h","onHealthError":"fail"}`
	DefaultMaxRetryWindow        = "6h"
	DefaultRecheckDelay          = "2m"
	DefaultRecheckMaxDelay       = "15m"
)

// HealthGateStackProps configures the pipeline-health stack. Zero values
// take the defaults above.
type HealthGateStackProps struct {
	awscdk.StackProps
	// AssetDir holds <function>/bootstrap for each of HealthGateFunctions.
	AssetDir string
	// Pipelines are the pipelines, by name, whose failed gate stages
	// pipeline-stage-retry retries (the example pipeline is added when made).
	// Its role may read and retry only these.
	Pipelines []string
	// ExamplePipeline adds a pipeline to copy: an S3 source, the gate, and
	// an S3 deploy stage.
	ExamplePipeline       bool
	ExamplePipelineName   string
	ExampleUserParameters string
	// OrganizationView has both functions ask AWS Health's organizational
	// view, and allows them health:DescribeEventsForOrganization and
	// health:DescribeAffectedAccountsForOrganization. Deploy such a stack
	// in the management or delegated administrator account: only there
	// does the all-clear rule see member accounts' AWS Health events.
	OrganizationView bool
	// RetryAnyFailure retries stages that failed for other reasons than
	// the gate too, once AWS Health is clear.
	RetryAnyFailure bool
	// MaxRetryWindow, RecheckDelay, RecheckMaxDelay are Go durations.
	MaxRetryWindow   string
	RecheckDelay     string
	RecheckMaxDelay  string
	LogRetentionDays int
	// NotifyTopicARN is the SNS topic both functions tell when they fail,
	// hold, retry or give up on a deployment; empty creates one.
	NotifyTopicARN string
}

func (p *HealthGateStackProps) withDefaults() HealthGateStackProps {
	out := *p
	out.Pipelines = slices.Clone(p.Pipelines)
	if out.ExamplePipelineName == "" {
		out.ExamplePipelineName = DefaultExamplePipelineName
	}
	if out.ExampleUserParameters == "" {
		out.ExampleUserParameters = DefaultExampleUserParameters
	}
	if out.MaxRetryWindow == "" {
		out.MaxRetryWindow = DefaultMaxRetryWindow
	}
	if out.RecheckDelay == "" {
		out.RecheckDelay = DefaultRecheckDelay
	}
	if out.RecheckMaxDelay == "" {
		out.RecheckMaxDelay = DefaultRecheckMaxDelay
	}
	if out.ExamplePipeline && !slices.Contains(out.Pipelines, out.ExamplePipelineName) {
		out.Pipelines = append(out.Pipelines, out.ExamplePipelineName)
	}
	return out
}

func (p *HealthGateStackProps) validate() error {
	var errs []error
	if len(p.Pipelines) == 0 {
		errs = append(errs, errors.New("no pipeline opted in for stage retries: name some, or add the example pipeline"))
	}
	for _, name := range p.Pipelines {
		if !awsid.IsPipelineName(name) {
			errs = append(errs, fmt.Errorf("pipeline name %q: want 1-100 of A-Za-z0-9.@_-", name))
		}
	}
	if p.ExamplePipeline {
		// The same parser as the gate's: a typo fails the synth, not the pipeline.
		if _, err := healthgate.ParseParams(p.ExampleUserParameters, "us-east-1"); err != nil {
			errs = append(errs, fmt.Errorf("example pipeline's UserParameters: %w", err))
		}
	}
	// The bounds pipeline-stage-retry's config enforces: a value it would
	// refuse fails the synth, not the function's cold start.
	duration := func(name, v string, min, max time.Duration) (time.Duration, bool) {
		d, err := time.ParseDuration(v)
		if err != nil || d < min || d > max {
			errs = append(errs, fmt.Errorf("%s %q: want a Go duration such as 2m or 6h, from %s to %s", name, v, min, max))
			return 0, false
		}
		return d, true
	}
	_, _ = duration("max retry window", p.MaxRetryWindow, healthgate.RetryWindowMin, healthgate.RetryWindowMax)
	delay, delayOK := duration("recheck delay", p.RecheckDelay, healthgate.RecheckDelayMin, healthgate.RecheckDelayMax)
	maxDelay, maxOK := duration("recheck max delay", p.RecheckMaxDelay, healthgate.RecheckMaxDelayMin, healthgate.RecheckMaxDelayMax)
	if delayOK && maxOK && maxDelay < delay {
		errs = append(errs, fmt.Errorf("recheck max delay %s is shorter than recheck delay %s", p.RecheckMaxDelay, p.RecheckDelay))
	}
	errs = append(errs, checkLogRetention(p.LogRetentionDays))
	errs = append(errs, checkNotifyTopic(p.NotifyTopicARN))
	errs = append(errs, checkFunctionAssets(p.AssetDir, HealthGateFunctions...))
	return errors.Join(errs...)
}

// NewHealthGateStack builds the pipeline-health capability: the gate a
// pipeline calls before deploying, the function that retries what the gate
// failed once AWS Health is clear (with its state-change rule, schedule
// group and scheduler role), and optionally an example pipeline.
func NewHealthGateStack(scope constructs.Construct, id string, props *HealthGateStackProps) (awscdk.Stack, error) {
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("pipeline-health stack: %w", err)
	}

	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	tagCapability(stack, "pipeline-health")

	healthActions := []string{"health:DescribeEvents"}
	if p.OrganizationView {
		// DescribeAffectedAccountsForOrganization confirms which accounts
		// an event affects, for the accounts key; the Service Authorization
		// Reference lists organizations:ListAccounts as its dependent action.
		healthActions = append(healthActions, "health:DescribeEventsForOrganization", "health:DescribeAffectedAccountsForOrganization", "organizations:ListAccounts")
	}
	orgView := strconv.FormatBool(p.OrganizationView)
	topic := notificationTopic(stack, "HealthGateNotifyTopic", p.NotifyTopicARN, "lambda-suite pipeline health gate")

	gate := NewFunction(stack, "PipelineHealthGate", &FunctionProps{
		Name:        PipelineHealthGate,
		AssetDir:    p.AssetDir,
		Description: "CodePipeline action: passes, fails or waits on open AWS Health events in the pipeline's Regions.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(60)),
		// No DEADLINE_MARGIN: the gate keeps the margin that scales with
		// its timeout (shared/deadline: 12 s of 60 s) to answer CodePipeline.
		Environment: map[string]string{
			"ORGANIZATION_VIEW": orgView,
			NotifyTopicEnv:      *topic,
		},
		Statements: []awsiam.PolicyStatement{
			statement("DescribeHealthEvents", healthActions, star(), nil),
			// These take no resource ARN: a job ID is all they name.
			statement("AnswerPipelineJobs", []string{"codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"}, star(), nil),
			publishStatement(topic),
		},
		OnFailure:        true,
		LogRetentionDays: p.LogRetentionDays,
	})

	// EventBridge Scheduler invokes the retry function with this role.
	schedulerRole := awsiam.NewRole(stack, jsii.String("RecheckSchedulerRole"), &awsiam.RoleProps{
		Description: jsii.String("EventBridge Scheduler invokes " + PipelineStageRetry + " for delayed AWS Health re-checks"),
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("scheduler.amazonaws.com"), &awsiam.ServicePrincipalOpts{
			Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
		}),
	})
	pinLogicalID(schedulerRole, "PipelineStageRetrySchedulerRole")
	// CloudFormation names the group, so two copies of the stack (staging
	// and production, say) can live in one account and Region.
	group := awsscheduler.NewCfnScheduleGroup(stack, jsii.String("RecheckScheduleGroup"), &awsscheduler.CfnScheduleGroupProps{})
	pinLogicalID(group, "PipelineStageRetryScheduleGroup")

	// RetryStageExecution takes the stage resource type,
	// arn:${Partition}:codepipeline:${Region}:${Account}:${PipelineName}/${StageName};
	// GetPipeline and GetPipelineState the pipeline (Service Authorization
	// Reference, "Actions, resources, and condition keys for AWS
	// CodePipeline").
	var pipelineARNs, stageARNs []*string
	for _, name := range p.Pipelines {
		pipelineARNs = append(pipelineARNs, pipelineARN(stack, name))
		stageARNs = append(stageARNs, pipelineARN(stack, name+"/*"))
	}
	retry := NewFunction(stack, "PipelineStageRetry", &FunctionProps{
		Name:        PipelineStageRetry,
		AssetDir:    p.AssetDir,
		Description: "Retries a pipeline stage that the health gate failed, once AWS Health is clear.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(60)),
		Environment: map[string]string{
			"PIPELINES":          strings.Join(p.Pipelines, ","),
			"RETRY_ANY_FAILURE":  strconv.FormatBool(p.RetryAnyFailure),
			"MAX_RETRY_WINDOW":   p.MaxRetryWindow,
			"RECHECK_DELAY":      p.RecheckDelay,
			"RECHECK_MAX_DELAY":  p.RecheckMaxDelay,
			"SCHEDULE_GROUP":     *group.Ref(), // the name, and the group before the function
			"SCHEDULER_ROLE_ARN": *schedulerRole.RoleArn(),
			"ORGANIZATION_VIEW":  orgView,
			NotifyTopicEnv:       *topic,
		},
		Statements: []awsiam.PolicyStatement{
			statement("DescribeHealthEvents", healthActions, star(), nil),
			// Only the opted-in pipelines: reading the gate's parameters
			// and state, and retrying the failed actions of their stages.
			statement("ReadOptedInPipelines", []string{"codepipeline:GetPipeline", "codepipeline:GetPipelineState"}, pipelineARNs, nil),
			statement("RetryOptedInPipelines", []string{"codepipeline:RetryStageExecution"}, stageARNs, nil),
			statement("ScheduleRechecks", []string{"scheduler:CreateSchedule", "scheduler:GetSchedule"},
				[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("scheduler"), Resource: jsii.String("schedule"), ResourceName: jsii.String(*group.Ref() + "/*")})}, nil),
			// ListSchedules takes no resource ARN; the function lists its
			// own group only (an AWS Health all-clear finds the waiting
			// stages there).
			statement("ListRechecks", []string{"scheduler:ListSchedules"}, star(), nil),
			statement("PassSchedulerRole", []string{"iam:PassRole"}, []*string{schedulerRole.RoleArn()},
				map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}}),
			publishStatement(topic),
		},
		OnFailure:        true,
		LogRetentionDays: p.LogRetentionDays,
	})
	// The function's ARN and any qualifier of it: schedules target the ARN
	// the function was invoked with.
	schedulerRole.AddToPolicy(statement("InvokeStageRetry", []string{"lambda:InvokeFunction"},
		[]*string{retry.Function.FunctionArn(), jsii.String(*retry.Function.FunctionArn() + ":*")}, nil))

	pipelineNames := make([]any, len(p.Pipelines))
	for i, n := range p.Pipelines {
		pipelineNames[i] = n
	}
	awsevents.NewRule(stack, jsii.String("StageFailedRule"), &awsevents.RuleProps{
		Description: jsii.String("Failed stages of the opted-in pipelines to " + PipelineStageRetry),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.codepipeline"),
			DetailType: jsii.Strings("CodePipeline Stage Execution State Change"),
			Detail:     &map[string]any{"state": []string{"FAILED"}, "pipeline": pipelineNames},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(retry.Function, nil)},
	})
	// AWS Health's all-clear: a waiting stage is re-checked at once (the
	// schedules stay the fallback). A rule sees only this account's events;
	// with the organizational view, deploy the stack in the management or
	// delegated administrator account (docs/pipeline-health-gate.md).
	awsevents.NewRule(stack, jsii.String("HealthAllClearRule"), &awsevents.RuleProps{
		Description: jsii.String("Closed AWS Health events to " + PipelineStageRetry + ", to re-check the stages waiting on them"),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(healthgate.HealthEventSource),
			DetailType: jsii.Strings(healthgate.HealthEventDetailType),
			Detail:     &map[string]any{"statusCode": []string{healthgate.HealthEventClosed}},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(retry.Function, nil)},
	})

	awscdk.NewCfnOutput(stack, jsii.String("HealthGateFunctionName"), &awscdk.CfnOutputProps{
		Description: jsii.String("The function to name in a pipeline's Lambda invoke action"),
		Value:       gate.Function.FunctionName(),
	})
	if p.ExamplePipeline {
		newExamplePipeline(stack, gate, p)
	}
	nagInvokeGrant(schedulerRole) // after its grants
	Observe(stack, gate, retry)
	return stack, nil
}

// newExamplePipeline adds the pipeline operators copy: source.zip from a
// bucket, the gate, then the files deployed to another bucket.
func newExamplePipeline(stack awscdk.Stack, gate *Function, p HealthGateStackProps) {
	bucket := func(id string) awss3.Bucket {
		b := awss3.NewBucket(stack, jsii.String(id), &awss3.BucketProps{
			Versioned:         jsii.Bool(true), // an S3 source action needs versions
			Encryption:        awss3.BucketEncryption_S3_MANAGED,
			BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
			EnforceSSL:        jsii.Bool(true),
			RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		})
		pinLogicalID(b, "HealthGateExample"+id)
		return b
	}
	source, target, artifacts := bucket("SourceBucket"), bucket("DeployBucket"), bucket("ArtifactBucket")

	sourceOutput := awscodepipeline.NewArtifact(jsii.String("Source"), nil)
	pipeline := awscodepipeline.NewPipeline(stack, jsii.String("ExamplePipeline"), &awscodepipeline.PipelineProps{
		PipelineName:     jsii.String(p.ExamplePipelineName),
		PipelineType:     awscodepipeline.PipelineType_V2,
		ArtifactBucket:   artifacts,
		CrossAccountKeys: jsii.Bool(false),
		Stages: &[]*awscodepipeline.StageProps{
			{
				StageName: jsii.String("Source"),
				Actions: &[]awscodepipeline.IAction{awscodepipelineactions.NewS3SourceAction(&awscodepipelineactions.S3SourceActionProps{
					ActionName: jsii.String("Source"),
					Bucket:     source,
					BucketKey:  jsii.String("source.zip"),
					// Started by hand (or swap in your own source): S3 events
					// would need a CloudTrail trail, polling is deprecated.
					Trigger: awscodepipelineactions.S3Trigger_NONE,
					Output:  sourceOutput,
				})},
			},
			{
				// A stage of its own, so pipeline-stage-retry retries the gate
				// and the deployment follows.
				StageName: jsii.String("HealthGate"),
				Actions: &[]awscodepipeline.IAction{awscodepipelineactions.NewLambdaInvokeAction(&awscodepipelineactions.LambdaInvokeActionProps{
					ActionName:           jsii.String("CheckAWSHealth"),
					Lambda:               gate.Function,
					UserParametersString: jsii.String(p.ExampleUserParameters),
					VariablesNamespace:   jsii.String("HealthGate"),
				})},
			},
			{
				StageName: jsii.String("Deploy"),
				Actions: &[]awscodepipeline.IAction{awscodepipelineactions.NewS3DeployAction(&awscodepipelineactions.S3DeployActionProps{
					ActionName: jsii.String("Deploy"),
					Bucket:     target,
					Input:      sourceOutput,
					Extract:    jsii.Bool(true),
				})},
			},
		},
	})
	allowRoleDependency(pipeline.Node().DefaultChild().(awscdk.CfnResource))
	awscdk.NewCfnOutput(stack, jsii.String("HealthGateExamplePipelineName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Upload source.zip to the source bucket, then start this pipeline"),
		Value:       pipeline.PipelineName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("HealthGateExampleSourceBucket"), &awscdk.CfnOutputProps{Value: source.BucketName()})
	nagExamplePipeline(pipeline, source, target, artifacts)
}

func pipelineARN(stack awscdk.Stack, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("codepipeline"), Resource: jsii.String(name)})
}
