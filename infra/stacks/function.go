// Package stacks holds the suite's CDK stacks, one per capability, and the
// constructs they share.
package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// FunctionMetadataKey is the CloudFormation Metadata key that carries a
// function's folder name. It is the function's identity outside CDK: the SAM
// drift test matches functions by it, since CDK logical IDs carry hashes.
const FunctionMetadataKey = "lambda-suite:function"

// Defaults of the house Lambda construct. The timeout is long enough for a
// few paged EC2 calls; functions that wait or sweep set their own.
const (
	DefaultMemoryMB         = 256
	DefaultTimeoutSeconds   = 30
	DefaultLogRetentionDays = 30
	DefaultRetryAttempts    = 2
)

// logRetentionDays are the values CloudWatch Logs accepts for RetentionInDays.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// FunctionProps configures a Function. Zero values take the house defaults.
type FunctionProps struct {
	// Name is the function's folder: functions/<Name> in the source tree and
	// <AssetDir>/<Name>/bootstrap once built.
	Name        string
	AssetDir    string
	Description string
	Timeout     awscdk.Duration
	MemoryMB    int
	Environment map[string]string
	Statements  []awsiam.PolicyStatement

	LogRetentionDays int
	// RemovalPolicy applies to the log group and the on-failure queue.
	// Default RETAIN: logs and failed events outlive a deleted stack.
	RemovalPolicy awscdk.RemovalPolicy

	// OnFailure adds an SQS queue that receives the events of asynchronous
	// invocations (EventBridge rules, schedules) that failed every attempt.
	OnFailure     bool
	RetryAttempts *int
	MaxEventAge   awscdk.Duration
}

// Function is the house Lambda construct: a Go binary on provided.al2023 and
// arm64, logging JSON to its own log group.
type Function struct {
	constructs.Construct
	Function       awslambda.Function
	LogGroup       awslogs.LogGroup
	OnFailureQueue awssqs.Queue // nil unless FunctionProps.OnFailure
}

// NewFunction adds a Function. The id prefixes the logical IDs of the log
// group and the queue, which are pinned so that refactoring the construct
// tree never replaces them: keep it unique in the stack and never change it.
func NewFunction(scope constructs.Construct, id string, props *FunctionProps) *Function {
	c := constructs.NewConstruct(scope, jsii.String(id))
	f := &Function{Construct: c}

	removal := props.RemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}

	f.LogGroup = awslogs.NewLogGroup(c, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		RemovalPolicy: removal,
	})
	// The L2 takes retention as an enum of names; days are what operators
	// and the SAM template speak, so set the number on the L1.
	logGroup := f.LogGroup.Node().DefaultChild().(awslogs.CfnLogGroup)
	logGroup.SetRetentionInDays(jsii.Number(orDefault(props.LogRetentionDays, DefaultLogRetentionDays)))
	pinLogicalID(logGroup, id+"LogGroup")

	fnProps := &awslambda.FunctionProps{
		Description:   nonEmpty(props.Description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(props.AssetDir, props.Name)), nil),
		MemorySize:    jsii.Number(orDefault(props.MemoryMB, DefaultMemoryMB)),
		Timeout:       props.Timeout,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		LogGroup:      f.LogGroup,
		Environment:   stringMap(props.Environment),
	}
	if fnProps.Timeout == nil {
		fnProps.Timeout = awscdk.Duration_Seconds(jsii.Number(DefaultTimeoutSeconds))
	}
	if props.OnFailure {
		f.OnFailureQueue = awssqs.NewQueue(c, jsii.String("OnFailureQueue"), &awssqs.QueueProps{
			Encryption: awssqs.QueueEncryption_SQS_MANAGED,
			EnforceSSL: jsii.Bool(true),
			// The longest SQS allows, to leave time to look at a failure.
			RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
			RemovalPolicy:   removal,
		})
		pinLogicalID(f.OnFailureQueue, id+"OnFailureQueue")

		retries := DefaultRetryAttempts
		if props.RetryAttempts != nil {
			retries = *props.RetryAttempts
		}
		fnProps.OnFailure = awslambdadestinations.NewSqsDestination(f.OnFailureQueue)
		fnProps.RetryAttempts = jsii.Number(retries)
		fnProps.MaxEventAge = props.MaxEventAge
		if fnProps.MaxEventAge == nil {
			// Lambda's own default, written out so that both templates state it.
			fnProps.MaxEventAge = awscdk.Duration_Hours(jsii.Number(6))
		}
	}

	f.Function = awslambda.NewFunction(c, jsii.String("Function"), fnProps)
	cfnFunction := f.Function.Node().DefaultChild().(awslambda.CfnFunction)
	cfnFunction.AddMetadata(jsii.String(FunctionMetadataKey), props.Name)
	for _, s := range props.Statements {
		f.Function.AddToRolePolicy(s)
	}
	allowRoleDependency(cfnFunction)
	nagFunction(f)
	return f
}

// allowRoleDependency keeps CDK's DependsOn of a resource that runs as a
// role (a function, a pipeline): CDK makes it depend on its role and
// everything under it, the default policy included, resolved at synth, so
// statements and grants added after the resource are waited for too.
// cfn-lint's W3005 calls the role half redundant with the Role GetAtt; it
// is harmless, so it is silenced here, in place, rather than by rewriting
// DependsOn.
func allowRoleDependency(r awscdk.CfnResource) {
	r.AddMetadata(jsii.String("cfn-lint"), map[string]any{
		"config": map[string]any{"ignore_checks": []string{"W3005"}},
	})
}

// checkFunctionAssets reports every function whose binary is missing, so that
// synth fails with a hint instead of a CDK stack trace.
func checkFunctionAssets(assetDir string, names ...string) error {
	var missing []string
	for _, name := range names {
		path := filepath.Join(assetDir, name, "bootstrap")
		if _, err := os.Stat(path); err != nil {
			missing = append(missing, path)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("function binaries missing (run `make build` first, or set the assetDir context): %v", missing)
	}
	return nil
}

func checkLogRetention(days int) error {
	if days != 0 && !slices.Contains(logRetentionDays, days) {
		return fmt.Errorf("log retention %d days: CloudWatch Logs accepts only %v", days, logRetentionDays)
	}
	return nil
}

func orDefault(v, def int) float64 {
	if v == 0 {
		return float64(def)
	}
	return float64(v)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}

func stringMap(m map[string]string) *map[string]*string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}

// statement builds an Allow statement for FunctionProps.Statements (or any
// other policy); conditions may be nil.
func statement(sid string, actions []string, resources []*string, conditions map[string]any) awsiam.PolicyStatement {
	props := &awsiam.PolicyStatementProps{Sid: jsii.String(sid), Actions: jsii.Strings(actions...), Resources: &resources}
	if conditions != nil {
		props.Conditions = &conditions
	}
	return awsiam.NewPolicyStatement(props)
}

// star is the resource of actions that have no resource-level permissions.
func star() []*string { return []*string{jsii.String("*")} }

// pinLogicalID fixes the logical ID CloudFormation knows a resource by: of
// c itself when it is an L1 (or a parameter), else of the L1 an L2 wraps.
// It is the one way the stacks pin IDs: a changed logical ID would replace
// a stateful resource, and the tests pin them.
func pinLogicalID(c constructs.IConstruct, id string) {
	element, ok := c.(awscdk.CfnElement)
	if !ok {
		element = c.Node().DefaultChild().(awscdk.CfnElement)
	}
	element.OverrideLogicalId(jsii.String(id))
}

// newRecordTable adds a table of records the suite trusts (the approval
// decisions, the root-volume replacements): a string key "id", TTL on
// "expiresAt", on-demand, point-in-time recovery, encrypted, kept and
// protected from deletion with the stack. logicalID pins it: it holds data.
func newRecordTable(stack awscdk.Stack, id, logicalID string) awsdynamodb.Table {
	table := awsdynamodb.NewTable(stack, jsii.String(id), &awsdynamodb.TableProps{
		PartitionKey:        &awsdynamodb.Attribute{Name: jsii.String("id"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:         awsdynamodb.BillingMode_PAY_PER_REQUEST,
		TimeToLiveAttribute: jsii.String("expiresAt"),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
		Encryption:         awsdynamodb.TableEncryption_AWS_MANAGED,
		DeletionProtection: jsii.Bool(true),
		RemovalPolicy:      awscdk.RemovalPolicy_RETAIN,
	})
	pinLogicalID(table, logicalID)
	return table
}
