package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// The organization rollout: the per-account capabilities (root volume, disk
// alarms) deployed to every account of some OUs, in some Regions, by
// service-managed CloudFormation StackSets. The approval and gate
// capabilities stay central, in one tooling account, and are not rolled out.
//
// Two kinds of stack, both deployed in the administrator account (the
// management account, or a StackSets delegated administrator):
//
//   - LambdaSuiteOrgAssets-<region>, one per target Region: a bucket named
//     OrgAssetBucketName that every principal of the organization may read
//     and nobody else, filled by a BucketDeployment with the functions' zips
//     (copied as they are, under their CDK asset keys). Lambda reads code
//     only from a bucket in the function's own Region, hence one per Region.
//   - LambdaSuiteOrgStackSets: one CfnStackSet per capability, whose template
//     is the capability's own stack (NewRootVolumeStack, NewDiskAlarmStack)
//     synthesized with its functions' code pointed at those buckets.
//
// The CDK publishes each asset stack's zips to the CDK bootstrap bucket of
// that Region, so every target Region of the administrator account needs
// `cdk bootstrap` once; member accounts need nothing.

// Capabilities the organization rollout can deploy, by their capability tag.
const (
	CapabilityRootVolume = "root-volume"
	CapabilityDiskAlarm  = "disk-alarm"
)

// OrgCapabilities lists what the rollout can deploy, in deployment order.
var OrgCapabilities = []string{CapabilityRootVolume, CapabilityDiskAlarm}

// Defaults of OrgRolloutProps.
const (
	// A quarter of the accounts of a Region at a time, and the operation
	// stops in a Region once more than a tenth of its accounts failed.
	DefaultOrgMaxConcurrentPercentage    = 25
	DefaultOrgFailureTolerancePercentage = 10
	DefaultOrgCallAs                     = "SELF"
)

// Stack and resource names of the rollout. The StackSets' logical IDs are
// pinned: replacing a StackSet deletes every stack instance.
const (
	OrgStackSetsStackID   = "LambdaSuiteOrgStackSets"
	OrgAssetsStackPrefix  = "LambdaSuiteOrgAssets-"
	orgAssetAccountParam  = "AssetAccountId"
	orgAssetBucketPrefix  = "lambda-suite-org-assets-"
	orgStackSetNamePrefix = "lambda-suite-"
	// templateBodyLimit is CloudFormation's limit on a StackSet's TemplateBody.
	templateBodyLimit = 51200
)

// The CDK's default bootstrap qualifier: a template handed to a StackSet
// must not name the bootstrap bucket or its version parameter, which member
// accounts do not have.
const cdkBootstrapQualifier = "hnb659fds"

// OrgAssetBucketName is the name of the asset bucket of the administrator
// account in one Region, as an Fn::Sub string: account is a literal account
// ID or a reference such as "${AWS::AccountId}"; the Region is the stack's.
// The asset stacks create the buckets by this name and the StackSets' Lambda
// functions read their code from it: one rule for both.
func OrgAssetBucketName(account string) string {
	return orgAssetBucketPrefix + account + "-${AWS::Region}"
}

// OrgRolloutProps configures the organization rollout.
type OrgRolloutProps struct {
	// AssetDir holds <function>/bootstrap for the capabilities' functions.
	AssetDir string
	// OrganizationID (o-...) may read the asset buckets.
	OrganizationID string
	// TargetOUs are the OU IDs (ou-...) or the root ID (r-...) whose
	// accounts get the capabilities, now and when they join later.
	TargetOUs []string
	// Regions get a stack instance in every target account, and an asset
	// bucket in the administrator account.
	Regions []string
	// Capabilities to roll out, from OrgCapabilities; empty for all.
	Capabilities []string
	// MaxConcurrentPercentage of a Region's accounts deployed at once, 1-100.
	MaxConcurrentPercentage int
	// FailureTolerancePercentage of a Region's accounts that may fail
	// before the operation stops in that Region (and the next), 0-100.
	FailureTolerancePercentage int
	// CallAs is SELF from the management account, DELEGATED_ADMIN from a
	// StackSets delegated administrator.
	CallAs string

	// The capabilities' settings, as the single-account stacks take them.
	// Their StackProps (synthesizer, environment) are the rollout's own.
	RootVolume RootVolumeStackProps
	DiskAlarm  DiskAlarmStackProps
}

func (p *OrgRolloutProps) withDefaults() OrgRolloutProps {
	out := *p
	if len(out.Capabilities) == 0 {
		out.Capabilities = OrgCapabilities
	}
	if out.MaxConcurrentPercentage == 0 {
		out.MaxConcurrentPercentage = DefaultOrgMaxConcurrentPercentage
	}
	if out.CallAs == "" {
		out.CallAs = DefaultOrgCallAs
	}
	return out
}

func (p *OrgRolloutProps) validate() error {
	var errs []error
	if !awsid.IsOrganizationID(p.OrganizationID) {
		errs = append(errs, fmt.Errorf("organization ID %q: want o- and 10 to 32 lowercase letters or digits (aws organizations describe-organization)", p.OrganizationID))
	}
	if len(p.TargetOUs) == 0 {
		errs = append(errs, errors.New("target OUs: name at least one OU ID (ou-...) or the root ID (r-...)"))
	}
	for _, ou := range p.TargetOUs {
		if !awsid.IsOUID(ou) && !awsid.IsRootID(ou) {
			errs = append(errs, fmt.Errorf("target OU %q: want an OU ID (ou-xxxx-xxxxxxxx) or the root ID (r-xxxx)", ou))
		}
	}
	if len(p.Regions) == 0 {
		errs = append(errs, errors.New("regions: name at least one Region"))
	}
	for _, r := range p.Regions {
		if !awsid.IsRegion(r) {
			errs = append(errs, fmt.Errorf("region %q: not a Region name such as eu-west-1", r))
		}
	}
	if dup := duplicate(p.Regions); dup != "" {
		errs = append(errs, fmt.Errorf("region %q is named twice", dup))
	}
	for _, c := range p.Capabilities {
		if !slices.Contains(OrgCapabilities, c) {
			errs = append(errs, fmt.Errorf("capability %q: the organization rollout deploys only %v (approval and the pipeline gate stay in one tooling account)", c, OrgCapabilities))
		}
	}
	if dup := duplicate(p.Capabilities); dup != "" {
		errs = append(errs, fmt.Errorf("capability %q is named twice", dup))
	}
	if p.MaxConcurrentPercentage < 1 || p.MaxConcurrentPercentage > 100 {
		errs = append(errs, fmt.Errorf("max concurrent percentage %d: want 1 to 100", p.MaxConcurrentPercentage))
	}
	if p.FailureTolerancePercentage < 0 || p.FailureTolerancePercentage > 100 {
		errs = append(errs, fmt.Errorf("failure tolerance percentage %d: want 0 to 100", p.FailureTolerancePercentage))
	}
	if p.CallAs != "SELF" && p.CallAs != "DELEGATED_ADMIN" {
		errs = append(errs, fmt.Errorf("call as %q: want SELF (management account) or DELEGATED_ADMIN", p.CallAs))
	}
	return errors.Join(errs...)
}

func duplicate(items []string) string {
	seen := map[string]bool{}
	for _, s := range items {
		if seen[s] {
			return s
		}
		seen[s] = true
	}
	return ""
}

// OrgRollout is what NewOrgRollout added to the app.
type OrgRollout struct {
	// Assets holds the asset stack of each target Region.
	Assets map[string]awscdk.Stack
	// StackSets holds one CfnStackSet per capability.
	StackSets awscdk.Stack
	// Templates holds each capability's StackSet template, by capability.
	Templates map[string]map[string]any
}

// NewOrgRollout adds the asset stacks and the StackSets stack to app.
func NewOrgRollout(app constructs.Construct, props *OrgRolloutProps) (*OrgRollout, error) {
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("organization rollout: %w", err)
	}

	out := &OrgRollout{Assets: map[string]awscdk.Stack{}, Templates: map[string]map[string]any{}}
	var functions []string
	for _, c := range OrgCapabilities {
		if !slices.Contains(p.Capabilities, c) {
			continue
		}
		tmpl, err := stackSetTemplate(c, p)
		if err != nil {
			return nil, fmt.Errorf("organization rollout: %s template: %w", c, err)
		}
		out.Templates[c] = tmpl
		functions = append(functions, capabilityFunctions(c)...)
	}

	for _, region := range p.Regions {
		out.Assets[region] = newOrgAssetStack(app, region, p.OrganizationID, p.AssetDir, functions)
	}

	stack := awscdk.NewStack(app, jsii.String(OrgStackSetsStackID), &awscdk.StackProps{
		Description: jsii.String("lambda-suite: organization rollout (service-managed StackSets of the per-account capabilities)"),
	})
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("lambda-suite"), nil)
	for _, region := range p.Regions {
		// The code must be in every Region's bucket before any instance
		// is created. Ordering only: the stacks share no values.
		stack.AddStackDependency(out.Assets[region], jsii.String("the StackSets' Lambda code"))
	}
	for _, c := range OrgCapabilities {
		tmpl, ok := out.Templates[c]
		if !ok {
			continue
		}
		body, err := json.Marshal(tmpl)
		if err != nil {
			return nil, fmt.Errorf("organization rollout: %s template: %w", c, err)
		}
		if len(body) > templateBodyLimit {
			return nil, fmt.Errorf("organization rollout: %s template is %d bytes, over CloudFormation's TemplateBody limit of %d", c, len(body), templateBodyLimit)
		}
		newStackSet(stack, c, string(body), p)
	}
	out.StackSets = stack
	return out, nil
}

func capabilityFunctions(capability string) []string {
	if capability == CapabilityRootVolume {
		return RootVolumeFunctions
	}
	return DiskAlarmFunctions
}

// stackSetLogicalID is the pinned logical ID of a capability's StackSet.
func stackSetLogicalID(capability string) string {
	id := "LambdaSuite"
	for part := range strings.SplitSeq(capability, "-") {
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return id + "StackSet"
}

func newStackSet(stack awscdk.Stack, capability, body string, p OrgRolloutProps) {
	set := awscloudformation.NewCfnStackSet(stack, jsii.String(stackSetLogicalID(capability)), &awscloudformation.CfnStackSetProps{
		StackSetName:    jsii.String(orgStackSetNamePrefix + capability),
		Description:     jsii.String("lambda-suite " + capability + " capability in every account of the target OUs"),
		PermissionModel: jsii.String("SERVICE_MANAGED"),
		CallAs:          jsii.String(p.CallAs),
		AutoDeployment: &awscloudformation.CfnStackSet_AutoDeploymentProperty{
			// An account that joins a target OU gets the capability.
			Enabled: jsii.Bool(true),
			// An account that leaves loses it: outside the organization it
			// can no longer read the asset buckets, so a retained stack
			// could not be updated or rolled back, and the suite would go
			// on deleting volumes and changing alarms for an owner that
			// never chose it. Deleting the stack keeps what holds data
			// (log groups, queues, the alarm topic are retained).
			RetainStacksOnAccountRemoval: jsii.Bool(false),
		},
		// The functions' roles have generated names.
		Capabilities: jsii.Strings("CAPABILITY_IAM"),
		// Operations queue instead of failing while another one runs (an
		// auto-deployment to a new account, say).
		// ManagedExecution is untyped JSON in the resource specification, so
		// CDK would not capitalize a struct's keys: write them as CloudFormation does.
		ManagedExecution: map[string]any{"Active": true},
		OperationPreferences: &awscloudformation.CfnStackSet_OperationPreferencesProperty{
			MaxConcurrentPercentage:    jsii.Number(float64(p.MaxConcurrentPercentage)),
			FailureTolerancePercentage: jsii.Number(float64(p.FailureTolerancePercentage)),
			// Run at MaxConcurrentPercentage whatever the tolerance; the
			// default (strict) would cap concurrency at tolerance + 1.
			ConcurrencyMode: jsii.String("SOFT_FAILURE_TOLERANCE"),
			// One Region after another: a template that fails, fails in
			// one Region and stops there. (No RegionOrder: CloudFormation
			// does not follow it when auto-deployment is enabled.)
			RegionConcurrencyType: jsii.String("SEQUENTIAL"),
		},
		Parameters: &[]any{&awscloudformation.CfnStackSet_ParameterProperty{
			ParameterKey:   jsii.String(orgAssetAccountParam),
			ParameterValue: awscdk.Aws_ACCOUNT_ID(),
		}},
		StackInstancesGroup: &[]any{&awscloudformation.CfnStackSet_StackInstancesProperty{
			DeploymentTargets: &awscloudformation.CfnStackSet_DeploymentTargetsProperty{
				OrganizationalUnitIds: jsii.Strings(p.TargetOUs...),
			},
			Regions: jsii.Strings(p.Regions...),
		}},
		TemplateBody: jsii.String(body),
		Tags: &[]*awscdk.CfnTag{
			{Key: jsii.String("project"), Value: jsii.String("lambda-suite")},
			{Key: jsii.String("capability"), Value: jsii.String(capability)},
		},
	})
	pinLogicalID(set, stackSetLogicalID(capability))
	awscdk.NewCfnOutput(stack, jsii.String(stackSetLogicalID(capability)+"Name"), &awscdk.CfnOutputProps{
		Description: jsii.String("StackSet of the " + capability + " capability: aws cloudformation list-stack-instances --stack-set-name <this>"),
		Value:       set.StackSetName(),
	})
}

// stackSetTemplate synthesizes a capability's stack, in an app of its own
// so that `cdk deploy` never deploys it, with no bootstrap check and with
// its functions' code read from the organization's asset buckets.
func stackSetTemplate(capability string, p OrgRolloutProps) (map[string]any, error) {
	// An explicit outdir: under the CDK CLI, an app without one would
	// write into the CLI's cdk.out and replace the real app's manifest.
	dir, err := os.MkdirTemp("", "lambda-suite-stackset-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	app := awscdk.NewApp(&awscdk.AppProps{
		Outdir: jsii.String(dir),
		PostCliContext: &map[string]any{
			"aws:cdk:version-reporting":     false,
			"aws:cdk:enable-path-metadata":  false,
			"aws:cdk:enable-asset-metadata": false,
		},
	})
	var stack awscdk.Stack
	switch capability {
	case CapabilityRootVolume:
		props := p.RootVolume
		props.StackProps, props.AssetDir = stackSetStackProps(props.StackProps), p.AssetDir
		stack, err = NewRootVolumeStack(app, "RootVolume", &props)
	case CapabilityDiskAlarm:
		props := p.DiskAlarm
		props.StackProps, props.AssetDir = stackSetStackProps(props.StackProps), p.AssetDir
		stack, err = NewDiskAlarmStack(app, "DiskAlarm", &props)
	}
	if err != nil {
		return nil, err
	}

	account := awscdk.NewCfnParameter(stack, jsii.String(orgAssetAccountParam), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Description:    jsii.String("The StackSet administrator's account, whose per-Region bucket holds the functions' code"),
		AllowedPattern: jsii.String(`^\d{12}$`),
	})
	pinLogicalID(account, orgAssetAccountParam)
	bucket := awscdk.Fn_Sub(jsii.String(OrgAssetBucketName("${"+orgAssetAccountParam+"}")), nil)
	for _, fn := range cfnFunctions(stack) {
		fn.AddPropertyOverride(jsii.String("Code.S3Bucket"), bucket)
	}

	assembly := app.Synth(nil)
	raw, err := json.Marshal(assembly.GetStackArtifact(stack.ArtifactId()).Template())
	if err != nil {
		return nil, err
	}
	if strings.Contains(string(raw), cdkBootstrapQualifier) {
		return nil, errors.New("the template still refers to the CDK bootstrap (bucket or version), which member accounts do not have")
	}
	var tmpl map[string]any
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		return nil, err
	}
	return tmpl, nil
}

// stackSetStackProps keeps a capability's description and drops the rest:
// a StackSet's template has no environment, and checks no CDK bootstrap.
func stackSetStackProps(p awscdk.StackProps) awscdk.StackProps {
	return awscdk.StackProps{
		Description: p.Description,
		Synthesizer: awscdk.NewDefaultStackSynthesizer(&awscdk.DefaultStackSynthesizerProps{
			GenerateBootstrapVersionRule: jsii.Bool(false),
		}),
	}
}

// newOrgAssetStack adds the asset stack of one Region: the bucket and the
// deployment that copies the functions' zips into it.
func newOrgAssetStack(app constructs.Construct, region, orgID, assetDir string, functions []string) awscdk.Stack {
	stack := awscdk.NewStack(app, jsii.String(OrgAssetsStackPrefix+region), &awscdk.StackProps{
		Description: jsii.String("lambda-suite: organization rollout, the functions' code in " + region + " for every account of the organization"),
		// The Region is fixed, the account is the deploying one.
		Env: &awscdk.Environment{Region: jsii.String(region)},
	})
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("lambda-suite"), nil)

	bucket := awss3.NewBucket(stack, jsii.String("Bucket"), &awss3.BucketProps{
		BucketName:        awscdk.Fn_Sub(jsii.String(OrgAssetBucketName("${AWS::AccountId}")), nil),
		Encryption:        awss3.BucketEncryption_S3_MANAGED, // member accounts need no KMS grant
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		// Stack instances read their code at create, update and rollback:
		// the bucket outlives this stack until the StackSets are gone.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	pinLogicalID(bucket, "OrgAssetBucket")
	// Every principal of the organization may read the code, nobody else:
	// a policy whose only principal "*" is bounded by aws:PrincipalOrgID is
	// not public, so Block Public Access stays fully on. Lambda fetches the
	// code with the credentials of the member account's StackSet execution
	// role, which is in the organization.
	bucket.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OrganizationReadsCode"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("s3:GetObject", "s3:GetObjectVersion"),
		Resources:  &[]*string{bucket.ArnForObjects(jsii.String("*"))},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:PrincipalOrgID": orgID}},
	}))

	sources := make([]awss3deployment.ISource, len(functions))
	for i, fn := range functions {
		// The same folder as the function's Code_FromAsset: the same asset
		// hash, so the zip lands under the key the template names.
		sources[i] = awss3deployment.Source_Asset(jsii.String(filepath.Join(assetDir, fn)), nil)
	}
	awss3deployment.NewBucketDeployment(stack, jsii.String("Code"), &awss3deployment.BucketDeploymentProps{
		Sources:           &sources,
		DestinationBucket: bucket,
		// The zips as they are: Lambda wants the archive.
		Extract: jsii.Bool(false),
		// Old code stays: a stack instance rolling back needs its zip.
		Prune:          jsii.Bool(false),
		RetainOnDelete: jsii.Bool(true),
	})
	// The deployment's handler is CDK's own function: the same cfn-lint
	// exception as the house functions (W3005).
	for _, fn := range cfnFunctions(stack) {
		allowRoleDependency(fn)
	}
	nagOrgAssets(stack, bucket)

	awscdk.NewCfnOutput(stack, jsii.String("AssetBucketName"), &awscdk.CfnOutputProps{
		Description: jsii.String("The functions' code for the organization in this Region; retained when the stack is deleted"),
		Value:       bucket.BucketName(),
	})
	return stack
}

// cfnFunctions returns every Lambda function under scope, CDK's own included.
func cfnFunctions(scope constructs.Construct) []awslambda.CfnFunction {
	var out []awslambda.CfnFunction
	for _, c := range *scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if fn, ok := c.(awslambda.CfnFunction); ok {
			out = append(out, fn)
		}
	}
	return out
}
