package stacks

import (
	"errors"
	"fmt"
	"maps"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The AMI-approval capability's functions, by folder name.
const (
	AmiApprovalRequest = "ami-approval-request"
	AmiApprovalLink    = "ami-approval-link"
	AmiApprovalSweeper = "ami-approval-sweeper"
)

// ApprovalFunctions lists the folders the AMI-approval stack deploys.
var ApprovalFunctions = []string{AmiApprovalRequest, AmiApprovalLink, AmiApprovalSweeper}

// The sweeper's schedule and timeout. The timeout stays below the sharing
// lease (approval.SharingLease, 2 minutes), so a running sweep is never
// taken over; the link function's 25 s does too.
const (
	ApprovalSweepSchedule       = "rate(5 minutes)"
	approvalSweepTimeoutSeconds = 60
)

// imageBuilderRole is the service-linked role Image Builder publishes to
// its SNS topic as (Image Builder user guide, "Amazon SNS integration":
// the role named in the key policy of an encrypted topic).
const imageBuilderRole = "aws-service-role/imagebuilder.amazonaws.com/AWSServiceRoleForImageBuilder"

// Defaults of ApprovalStackProps.
const (
	// The approval page serves people, a few requests a minute: a low limit
	// keeps a leaked URL from being hammered into a large bill.
	DefaultApprovalThrottleRate  = 5
	DefaultApprovalThrottleBurst = 10
)

// The tag EC2 Image Builder puts on every AMI it makes; the link function
// may share only AMIs that carry it.
const (
	imageBuilderTagKey   = "CreatedBy"
	imageBuilderTagValue = "EC2 Image Builder"
)

// Logical IDs of the stack's stateful and referenced resources, pinned so
// that a refactoring never replaces them. template.yaml uses the same.
const (
	approvalTableID        = "AmiApprovalTable"
	approvalProofKeyID     = "AmiApprovalProofKey"
	approverKeyID          = "AmiApprovalApproverKey"
	approverTopicID        = "AmiApprovalApproverTopic"
	targetTopicID          = "AmiApprovalTargetTopic"
	imageBuilderTopicID    = "AmiApprovalImageBuilderTopic"
	approvalAPIID          = "AmiApprovalApi"
	approvalAccessLogsID   = "AmiApprovalApiAccessLogs"
	approvalCreateTopicCnd = "AmiApprovalCreateImageBuilderTopic"
	approvalUseTopicCnd    = "AmiApprovalUseExistingImageBuilderTopic"
)

// approvalExecutionRolesParam names the execution roles of the pipelines
// (with workflows) that publish to the Image Builder topic created here.
const approvalExecutionRolesParam = "AmiApprovalPipelineExecutionRoleArns"

// ApprovalStackProps configures the AMI-approval stack. Who approves and who
// gets the AMIs are CloudFormation parameters (see the stack's template),
// so one synthesized template serves every account.
type ApprovalStackProps struct {
	awscdk.StackProps
	// AssetDir holds <function>/bootstrap for each of ApprovalFunctions.
	AssetDir string
	// ThrottleRate (requests per second) and ThrottleBurst limit the API.
	ThrottleRate, ThrottleBurst int
	// LogRetentionDays is one of the values CloudWatch Logs accepts.
	LogRetentionDays int
}

func (p *ApprovalStackProps) withDefaults() ApprovalStackProps {
	out := *p
	if out.ThrottleRate == 0 {
		out.ThrottleRate = DefaultApprovalThrottleRate
	}
	if out.ThrottleBurst == 0 {
		out.ThrottleBurst = DefaultApprovalThrottleBurst
	}
	return out
}

func (p *ApprovalStackProps) validate() error {
	var errs []error
	if p.ThrottleRate < 1 || p.ThrottleBurst < 1 {
		errs = append(errs, fmt.Errorf("throttle rate %d and burst %d: want both at least 1", p.ThrottleRate, p.ThrottleBurst))
	}
	errs = append(errs, checkLogRetention(p.LogRetentionDays))
	errs = append(errs, checkFunctionAssets(p.AssetDir, ApprovalFunctions...))
	return errors.Join(errs...)
}

// NewApprovalStack builds the AMI-approval capability: an Image Builder
// build is shared with other accounts only after a person approves it on a
// one-time link.
func NewApprovalStack(scope constructs.Construct, id string, props *ApprovalStackProps) (awscdk.Stack, error) {
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("ami-approval stack: %w", err)
	}
	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	tagCapability(stack, "ami-approval")
	params := newApprovalParameters(stack)

	// It holds the audit records of every decision.
	table := newRecordTable(stack, "Table", approvalTableID)

	// The approver topic's messages carry approval links: whoever may
	// subscribe to it may approve. It is encrypted with a key of its own,
	// which SNS may use for this account's topics, and it takes only the
	// approver address by email, or what the principal given as a parameter
	// subscribes. Both topics refuse plain HTTP.
	approverKey := awskms.NewKey(stack, jsii.String("ApproverKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the AMI approval topic, whose messages carry approval links."),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	approverKey.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("LetSNSUseTheKey"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("sns.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:GenerateDataKey*", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}},
	}), jsii.Bool(false))
	pinLogicalID(approverKey, approverKeyID)
	approverTopic := awssns.NewTopic(stack, jsii.String("ApproverTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("AMI approval"), EnforceSSL: jsii.Bool(true), MasterKey: approverKey,
	})
	pinLogicalID(approverTopic, approverTopicID)
	// The rule is on what is subscribed, not on who asks: the stack's own
	// subscription is made by CloudFormation as the caller or as its service
	// role (the CDK's deployments use one), where aws:CalledVia is absent,
	// and an exemption by caller would let anyone who may create a stack
	// subscribe. sns:Endpoint and sns:Protocol are the Subscribe request's
	// endpoint and protocol (Service Authorization Reference, "Actions,
	// resources, and condition keys for Amazon SNS"). Two statements, as
	// each Deny holds only when all its conditions do: outside the
	// subscriber principal, an endpoint other than the approver address is
	// refused, and so is any protocol but email. The address compares
	// without case, as mail domains do.
	subscribeDeny := func(sid string, condition map[string]any) {
		condition["ArnNotLike"] = map[string]any{"aws:PrincipalArn": params.subscriber.ValueAsString()}
		approverTopic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String(sid),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    jsii.Strings("sns:Subscribe"),
			Resources:  &[]*string{approverTopic.TopicArn()},
			Conditions: &condition,
		}))
	}
	subscribeDeny("OnlyKnownSubscribers", map[string]any{
		"StringNotEqualsIgnoreCase": map[string]any{"sns:Endpoint": params.approverEmail.ValueAsString()},
	})
	subscribeDeny("OnlyEmailSubscribers", map[string]any{
		"StringNotEquals": map[string]any{"sns:Protocol": "email"},
	})
	targetTopic := awssns.NewTopic(stack, jsii.String("TargetTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("AMIs shared"), EnforceSSL: jsii.Bool(true),
	})
	pinLogicalID(targetTopic, targetTopicID)
	emailSubscription(stack, "AmiApprovalApproverSubscription", approverTopic, params.approverEmail)
	emailSubscription(stack, "AmiApprovalTargetSubscription", targetTopic, params.targetEmail)

	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		Description:        jsii.String("The AMI approval page: GET shows a request, POST decides."),
		CreateDefaultStage: jsii.Bool(false),
	})
	pinLogicalID(api, approvalAPIID)
	approvalURL := awscdk.Fn_Join(jsii.String(""), &[]*string{api.ApiEndpoint(), jsii.String("/")})

	// The approval contract the three functions read (approval.ReadSettings).
	env := map[string]string{
		"APPROVER_TOPIC_ARN":       *approverTopic.TopicArn(),
		"TARGET_TOPIC_ARN":         *targetTopic.TopicArn(),
		"TARGET_ACCOUNT_IDS":       *params.accounts.ValueAsString(),
		"TARGET_ORGANIZATION_ARNS": *params.organizations.ValueAsString(),
		"TARGET_OU_ARNS":           *params.ous.ValueAsString(),
		"APPROVAL_URL":             *approvalURL,
		"DECISIONS_TABLE":          *table.TableName(),
		"LINK_TTL":                 *params.linkTTL.ValueAsString(),
	}
	for i, n := range namedParameters {
		env[n.variable] = *params.named[i].ValueAsString()
	}
	// The proof key's policy names the three roles, which exist only once
	// the functions do: the key is made first, its ARN handed to them, and
	// its policy written after (approvalProofKeyPolicy).
	proof := awskms.NewCfnKey(stack, jsii.String(approvalProofKeyID), &awskms.CfnKeyProps{
		Description: jsii.String("Seals the AMI approval decisions table's records (HMAC); only the approval functions use it."),
		KeySpec:     jsii.String("HMAC_256"),
		KeyUsage:    jsii.String("GENERATE_VERIFY_MAC"),
	})
	proof.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	pinLogicalID(proof, approvalProofKeyID)
	env["PROOF_KEY_ARN"] = *proof.AttrArn()

	// The sweeper alone reminds, so it alone reads STEP_REMINDER_LEAD.
	sweeperEnv := maps.Clone(env)
	sweeperEnv["STEP_REMINDER_LEAD"] = *params.reminderLead.ValueAsString()

	// Image Builder is asked about builds of this account only.
	getImage := statement("AskImageBuilder", []string{"imagebuilder:GetImage"},
		[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("imagebuilder"), Region: jsii.String("*"), Resource: jsii.String("image"), ResourceName: jsii.String("*")})}, nil)
	// The tables are written by hand-written statements: the DynamoDB
	// Grant* calls add what no function uses (DescribeTable,
	// ConditionCheckItem, the Batch* and stream actions, Query).

	request := NewFunction(stack, "AmiApprovalRequest", &FunctionProps{
		Name:        AmiApprovalRequest,
		AssetDir:    p.AssetDir,
		Description: "Emails a one-time approval link for each EC2 Image Builder build, or a notice of a failed one.",
		Environment: env,
		Statements: []awsiam.PolicyStatement{
			statement("Decisions", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
				[]*string{table.TableArn()}, nil),
			// It writes no audit item: it may not put one either.
			auditIsAppendOnly(table, "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
			getImage,
			readStep(stack),
			// Reads have no resource-level permissions: the AMIs' names.
			statement("DescribeAMIs", []string{"ec2:DescribeImages"}, star(), nil),
			// Named approvers: SES v2 SendEmail (prefix ses) only as the
			// configured identity and only from APPROVAL_FROM
			// (ses:FromAddress; Service Authorization Reference, Amazon SES
			// v2, and the SES Developer Guide, control-user-access).
			statement("EmailNamedApprovers", []string{"ses:SendEmail"},
				[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"), Resource: jsii.String("identity"), ResourceName: params.sesIdentity.ValueAsString()})},
				map[string]any{"StringEquals": map[string]any{"ses:FromAddress": params.named[1].ValueAsString()}}),
		},
		OnFailure:        true,
		LogRetentionDays: p.LogRetentionDays,
	})
	// sns:Publish on the topic and, as it is encrypted, kms:Decrypt and
	// kms:GenerateDataKey* on its key: no more than that.
	approverTopic.GrantPublish(request.Function)

	// What sharing needs, for the page and the sweeper alike (with
	// sns:Publish on the target topic, granted below).
	sharing := []awsiam.PolicyStatement{
		getImage,
		// Reads have no resource-level permissions.
		statement("DescribeAMIs", []string{"ec2:DescribeImages", "ec2:DescribeSnapshots"}, star(), nil),
		// In every Region (the build's distribution decides which), and
		// only AMIs that EC2 Image Builder made: a second line behind
		// Image Builder's own list of the build's AMIs.
		statement("ShareImageBuilderAMIs", []string{"ec2:ModifyImageAttribute"},
			[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("ec2"), Region: jsii.String("*"), Account: jsii.String(""), Resource: jsii.String("image"), ResourceName: jsii.String("*")})},
			map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + imageBuilderTagKey: imageBuilderTagValue}}),
		// To refuse AMIs encrypted with the AWS managed key, which other
		// accounts cannot use.
		statement("DescribeSnapshotKeys", []string{"kms:DescribeKey"},
			[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("kms"), Region: jsii.String("*"), Resource: jsii.String("key"), ResourceName: jsii.String("*")})}, nil),
	}

	link := NewFunction(stack, "AmiApprovalLink", &FunctionProps{
		Name:        AmiApprovalLink,
		AssetDir:    p.AssetDir,
		Description: "Serves the AMI approval page; an approval shares the build's AMIs and tells the target accounts.",
		// Below API Gateway's 30-second integration limit, so the page
		// always gets an answer. Sharing works to a fifth less (the
		// deadline package's margin: 5 s to undo and record).
		Timeout:     awscdk.Duration_Seconds(jsii.Number(25)),
		Environment: env,
		Statements: append([]awsiam.PolicyStatement{
			statement("Decisions", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
				[]*string{table.TableArn()}, nil),
			auditIsAppendOnly(table, "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
			readStep(stack), actOnStep(stack),
		}, sharing...),
		LogRetentionDays: p.LogRetentionDays,
	})
	targetTopic.GrantPublish(link.Function)

	sweeper := NewFunction(stack, "AmiApprovalSweeper", &FunctionProps{
		Name:        AmiApprovalSweeper,
		AssetDir:    p.AssetDir,
		Description: "Finishes AMI approvals whose sharing stopped part way (completes or reverts each, once, and tells the approvers) and sends unconfirmed workflow-step decisions again.",
		Timeout:     awscdk.Duration_Seconds(jsii.Number(approvalSweepTimeoutSeconds)),
		Environment: sweeperEnv,
		Statements: append([]awsiam.PolicyStatement{
			statement("Decisions", []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan"},
				[]*string{table.TableArn()}, nil),
			auditIsAppendOnly(table, "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
			// A recorded step decision Image Builder never confirmed is
			// sent again, with its own client token.
			readStep(stack), actOnStep(stack),
		}, sharing...),
		OnFailure:        true,
		LogRetentionDays: p.LogRetentionDays,
	})
	approverTopic.GrantPublish(sweeper.Function)
	targetTopic.GrantPublish(sweeper.Function)
	// A scanner may follow an email's unsubscribe link: each sweep checks
	// that the approver topic still has a confirmed subscriber.
	sweeper.Function.AddToRolePolicy(statement("CheckApprovers", []string{"sns:ListSubscriptionsByTopic"}, []*string{approverTopic.TopicArn()}, nil))
	awsevents.NewRule(stack, jsii.String("SweepSchedule"), &awsevents.RuleProps{
		Description: jsii.String("Finishes AMI approvals left sharing past their lease"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(ApprovalSweepSchedule)),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(sweeper.Function, nil)},
	})

	accessLogs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{RemovalPolicy: awscdk.RemovalPolicy_RETAIN})
	accessLogGroup := accessLogs.Node().DefaultChild().(awslogs.CfnLogGroup)
	accessLogGroup.SetRetentionInDays(jsii.Number(orDefault(p.LogRetentionDays, DefaultLogRetentionDays)))
	pinLogicalID(accessLogGroup, approvalAccessLogsID)

	stage := awsapigatewayv2.NewHttpStage(stack, jsii.String("DefaultStage"), &awsapigatewayv2.HttpStageProps{
		HttpApi:    api,
		StageName:  jsii.String("$default"),
		AutoDeploy: jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit: jsii.Number(float64(p.ThrottleRate)), BurstLimit: jsii.Number(float64(p.ThrottleBurst)),
		},
	})
	// Access logs without the query string: it holds the token.
	stage.Node().DefaultChild().(awsapigatewayv2.CfnStage).SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format: jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","userAgent":"$context.identity.userAgent",` +
			`"time":"$context.requestTime","method":"$context.httpMethod","path":"$context.path","status":"$context.status",` +
			`"responseLength":"$context.responseLength","integrationError":"$context.integrationErrorMessage"}`),
	})
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		// Every method reaches the function, which answers 405 itself.
		Path:        jsii.String("/"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("Page"), link.Function, nil),
	})

	exampleExecution, exampleEnabled := exampleApprovalPipeline(stack)
	subscribeToImageBuilder(stack, params, request.Function, exampleExecution, exampleEnabled)
	routeStepWaiting(stack, request.Function)

	awscdk.NewCfnOutput(stack, jsii.String("ApprovalUrl"), &awscdk.CfnOutputProps{
		Description: jsii.String("The approval page's base URL (links are URL?token=…)."),
		Value:       approvalURL,
	})
	awscdk.NewCfnOutput(stack, jsii.String("DecisionsTableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Requests, decisions and their audit records."),
		Value:       table.TableName(),
	})
	quorumWarning(stack, params)
	nagApprovalAPI(api) // after its routes
	opsTopic := Observe(stack, request, link, sweeper).TopicARN
	approvalProofKeyPolicy(stack, proof, request, link, sweeper)
	onlyPublishers(approverTopic, request, sweeper)
	onlyPublishers(targetTopic, link, sweeper)
	tellOperators(stack, sweeper, opsTopic)
	return stack, nil
}

// auditIsAppendOnly denies actions on the decisions table's audit items
// (keys audit#...): dynamodb:LeadingKeys is the request's partition key
// (Service Authorization Reference, Amazon DynamoDB). A Deny, so that no
// other statement of the role, now or later, can allow them.
func auditIsAppendOnly(table awsdynamodb.ITable, actions ...string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("AuditIsAppendOnly"), Effect: awsiam.Effect_DENY, Actions: jsii.Strings(actions...),
		Resources:  &[]*string{table.TableArn()},
		Conditions: &map[string]any{"ForAnyValue:StringLike": map[string]any{"dynamodb:LeadingKeys": []string{"audit#*"}}},
	})
}

// onlyPublishers denies sns:Publish on topic to every principal but the
// functions given: a Deny on aws:PrincipalArn, as within the account an
// Allow alone restricts nothing. No AWS service publishes to the approval
// topics.
func onlyPublishers(topic awssns.Topic, fns ...*Function) {
	var roles []*string
	for _, f := range fns {
		roles = append(roles, f.Function.Role().RoleArn())
	}
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid: jsii.String("OnlyTheSuitePublishes"), Effect: awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sns:Publish"), Resources: &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": roles}},
	}))
}

// approvalProofKeyPolicy writes the proof key's policy: the account administers the key
// but cannot use it (no kms:GenerateMac, kms:VerifyMac or kms:CreateGrant
// is delegated to IAM, so no identity policy, however broad, makes a MAC),
// and only the functions' roles make and check MACs (AWS KMS API
// reference, GenerateMac and VerifyMac: "Required permissions: key
// policy"). KMS does not rotate HMAC keys automatically.
func approvalProofKeyPolicy(stack awscdk.Stack, key awskms.CfnKey, fns ...*Function) {
	var roles []any
	for _, f := range fns {
		roles = append(roles, f.Function.Role().RoleArn())
	}
	key.SetKeyPolicy(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{
				"Sid": "AccountAdministers", "Effect": "Allow", "Resource": "*",
				"Principal": map[string]any{"AWS": stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("root")})},
				"Action": []string{"kms:CreateAlias", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
					"kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"},
			},
			map[string]any{
				"Sid": "OnlyTheApprovalFunctionsSeal", "Effect": "Allow", "Resource": "*",
				"Principal": map[string]any{"AWS": roles},
				"Action":    []string{"kms:GenerateMac", "kms:VerifyMac"},
			},
		},
	})
}

// tellOperators lets the sweeper tell the operators' topic of records it
// refused as tampered (OPS_TOPIC_ARN): sns:Publish on that topic only, and
// the topic's key through SNS (the created topic is encrypted with
// OpsTopicKey; a topic of your own may be too).
func tellOperators(stack awscdk.Stack, sweeper *Function, opsTopic *string) {
	sweeper.Function.AddEnvironment(jsii.String("OPS_TOPIC_ARN"), opsTopic, nil)
	sweeper.Function.AddToRolePolicy(statement("TellOperators", []string{"sns:Publish"}, []*string{opsTopic}, nil))
	sweeper.Function.AddToRolePolicy(statement("EncryptForOperators", []string{"kms:GenerateDataKey*", "kms:Decrypt"},
		[]*string{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("kms"), Resource: jsii.String("key"), ResourceName: jsii.String("*")})},
		map[string]any{"StringEquals": map[string]any{"kms:ViaService": awscdk.Fn_Sub(jsii.String("sns.${AWS::Region}.amazonaws.com"), nil)}}))
}

type approvalParameters struct {
	approverEmail, targetEmail, imageBuilderTopic awscdk.CfnParameter
	subscriber                                    awscdk.CfnParameter
	accounts, organizations, ous, linkTTL         awscdk.CfnParameter
	reminderLead, executionRoles                  awscdk.CfnParameter
	// named approvers (APPROVERS … APPROVAL_QUORUM_ACCOUNTS), in the order of namedParameters
	named []awscdk.CfnParameter
	// sesIdentity is the SES identity APPROVAL_FROM sends as.
	sesIdentity             awscdk.CfnParameter
	createImageBuilderTopic awscdk.CfnCondition
}

// namedParameters are the named-approver settings (approval.ReadNamed):
// each a parameter passed as is to the variable of the three functions.
var namedParameters = []struct{ id, variable, description, def, pattern string }{
	{"AmiApprovalApprovers", "APPROVERS", "Named approvers: comma-separated email addresses, or a JSON list of {\"email\", \"name\"}, each emailed their own link through SES; empty for the SNS mode (one link to the approver topic).", "", `^$|^[^\s].*$`},
	{"AmiApprovalFrom", "APPROVAL_FROM", "Named approvers: the verified SES identity's address the approvers' emails come from (the stack does not create or verify it); empty in the SNS mode.", "", `^$|^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$`},
	{"AmiApprovalQuorum", "APPROVAL_QUORUM", "Named approvers: how many distinct approvers must approve a build, 1 to the number of approvers.", "1", `^[1-9][0-9]?$`},
	{"AmiApprovalQuorumOrganizations", "APPROVAL_QUORUM_ORGANIZATIONS", "Named approvers: stricter quorums, as comma-separated ID=N items (o-... or ou-... IDs), for builds whose targets include them; empty for none.", "", `^$|^(o|ou)-[a-z0-9-]+=[1-9][0-9]?(,(o|ou)-[a-z0-9-]+=[1-9][0-9]?)*$`},
	{"AmiApprovalQuorumAccounts", "APPROVAL_QUORUM_ACCOUNTS", "Named approvers: stricter quorums, as comma-separated ACCOUNT=N items, for builds whose targets include those accounts; empty for none.", "", `^$|^[0-9]{12}=[1-9][0-9]?(,[0-9]{12}=[1-9][0-9]?)*$`},
}

func newApprovalParameters(stack awscdk.Stack) approvalParameters {
	param := func(id, description, def, pattern string) awscdk.CfnParameter {
		props := &awscdk.CfnParameterProps{Type: jsii.String("String"), Description: jsii.String(description), AllowedPattern: jsii.String(pattern)}
		if def != "-" {
			props.Default = jsii.String(def)
		}
		return awscdk.NewCfnParameter(stack, jsii.String(id), props)
	}
	p := approvalParameters{
		approverEmail: param("AmiApprovalApproverEmail",
			"Email address subscribed to the approver topic, the only address it accepts (AmiApprovalSubscriberPrincipalArn may subscribe others); empty for none.", "",
			`^$|^[^@\s]+@[^@\s]+$`),
		targetEmail: param("AmiApprovalTargetEmail", "Email address subscribed to the target topic; empty for none.", "", `^$|^[^@\s]+@[^@\s]+$`),
		imageBuilderTopic: param("AmiApprovalImageBuilderTopicArn",
			"ARN of the SNS topic of your Image Builder infrastructure configuration; empty to create one (see the outputs).", "",
			optionalTopicARNPattern),
		accounts: param("AmiApprovalTargetAccountIds", "Comma-separated 12-digit IDs of the accounts an approved build is shared with.", "-",
			`^[0-9]{12}(,[0-9]{12})*$`),
		organizations: param("AmiApprovalTargetOrganizationArns", "Comma-separated organization ARNs to share with too; empty for none.", "",
			`^$|^arn:aws[a-z-]*:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}(,arn:aws[a-z-]*:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32})*$`),
		ous: param("AmiApprovalTargetOuArns", "Comma-separated organizational unit ARNs to share with too; empty for none.", "",
			`^$|^arn:aws[a-z-]*:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}(,arn:aws[a-z-]*:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})*$`),
		subscriber: param("AmiApprovalSubscriberPrincipalArn",
			"ARN of the one principal (a role or user) besides this stack that may subscribe to the approver topic; empty for none.", "",
			`^$|^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[A-Za-z0-9+=,.@_/-]+$`),
		linkTTL: param("AmiApprovalLinkTtl", "How long an approval link works, as a Go duration between 5m and 336h.", "72h",
			`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`),
		executionRoles: param(approvalExecutionRolesParam,
			"Comma-separated ARNs of the execution roles of your Image Builder pipelines with workflows, which publish to the Image Builder topic created here as that role (the example pipeline's is added when it is made); empty for none.", "",
			`^$|^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=.@_/-]+(,arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=.@_/-]+)*$`),
		reminderLead: param("AmiApprovalStepReminderLead",
			"Workflow mode: how long before a waiting step times out its approvers are reminded, once; a Go duration between 5m and 168h.", "12h",
			`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`),
	}
	p.sesIdentity = param("AmiApprovalSesIdentity",
		"Named approvers: the verified SES identity APPROVAL_FROM sends as (the address itself, or its domain); the stack does not create or verify it. Empty: the role may send nothing.", "",
		`^$|^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$|^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$`)
	for _, n := range namedParameters {
		p.named = append(p.named, param(n.id, n.description, n.def, n.pattern))
	}
	p.createImageBuilderTopic = awscdk.NewCfnCondition(stack, jsii.String(approvalCreateTopicCnd), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(p.imageBuilderTopic.ValueAsString(), jsii.String("")),
	})
	return p
}

// quorumWarning warns in the outputs when a quorum above 1 may apply
// (APPROVAL_QUORUM, or any stricter quorum) while the page has no sign-in
// (issue 20: links alone cannot prove distinct people).
func quorumWarning(stack awscdk.Stack, p approvalParameters) {
	notEmpty := func(param awscdk.CfnParameter) awscdk.ICfnConditionExpression {
		return awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(param.ValueAsString(), jsii.String("")))
	}
	cond := awscdk.NewCfnCondition(stack, jsii.String("AmiApprovalQuorumWithoutSignIn"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionOr(
			awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(p.named[2].ValueAsString(), jsii.String("1"))),
			notEmpty(p.named[3]), notEmpty(p.named[4])),
	})
	out := awscdk.NewCfnOutput(stack, jsii.String("QuorumWithoutSignIn"), &awscdk.CfnOutputProps{
		Description: jsii.String("Warning: a quorum above 1 without sign-in."),
		Value:       jsii.String("With a quorum above 1 and no sign-in, links alone cannot prove distinct people: one person holding two approvers' links (a shared or forwarded mailbox) counts twice. See docs/ami-approval.md, Modes."),
	})
	out.SetCondition(cond)
}

// emailSubscription subscribes the address in param, when it is not empty.
func emailSubscription(stack awscdk.Stack, id string, topic awssns.Topic, param awscdk.CfnParameter) {
	hasEmail := awscdk.NewCfnCondition(stack, jsii.String(id+"Condition"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(param.ValueAsString(), jsii.String(""))),
	})
	sub := awssns.NewCfnSubscription(stack, jsii.String(id), &awssns.CfnSubscriptionProps{
		TopicArn: topic.TopicArn(), Protocol: jsii.String("email"), Endpoint: param.ValueAsString(),
	})
	sub.CfnOptions().SetCondition(hasEmail)
	pinLogicalID(sub, id)
}

// subscribeToImageBuilder subscribes the request function to Image Builder's
// topic: the one named by the parameter, or a new one. Each case has its own
// conditional subscription and permission, so neither holds an empty ARN.
// A new topic takes messages from Image Builder's service-linked role and
// from the execution roles of pipelines with workflows: exampleExecution
// when exampleEnabled holds, and those of AmiApprovalPipelineExecutionRoleArns.
func subscribeToImageBuilder(stack awscdk.Stack, p approvalParameters, fn awslambda.Function, exampleExecution awsiam.CfnRole, exampleEnabled awscdk.CfnCondition) {
	hasRoles := awscdk.NewCfnCondition(stack, jsii.String("AmiApprovalHasPipelineExecutionRoles"), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(p.executionRoles.ValueAsString(), jsii.String(""))),
	})
	serviceLinked := stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("role"), ResourceName: jsii.String(imageBuilderRole)})
	// One comma-separated list, split: the parameter holds a list of its own.
	publishers := map[string]any{"Fn::Split": []any{",", map[string]any{"Fn::Join": []any{"", []any{
		serviceLinked,
		map[string]any{"Fn::If": []any{*exampleEnabled.LogicalId(), map[string]any{"Fn::Join": []any{"", []any{",", exampleExecution.AttrArn()}}}, ""}},
		map[string]any{"Fn::If": []any{*hasRoles.LogicalId(), map[string]any{"Fn::Join": []any{"", []any{",", p.executionRoles.ValueAsString()}}}, ""}},
	}}}}}
	topic := awssns.NewCfnTopic(stack, jsii.String(imageBuilderTopicID), &awssns.CfnTopicProps{
		DisplayName: jsii.String("EC2 Image Builder notifications"),
	})
	topic.CfnOptions().SetCondition(p.createImageBuilderTopic)
	pinLogicalID(topic, imageBuilderTopicID)
	policy := awssns.NewCfnTopicPolicy(stack, jsii.String(imageBuilderTopicID+"Policy"), &awssns.CfnTopicPolicyProps{
		Topics: &[]*string{topic.Ref()},
		PolicyDocument: map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{
					"Sid": "EnforceTLS", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
					"Resource": topic.Ref(), "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				},
				// Only Image Builder publishes here: as its service-linked
				// role, or, for a pipeline with workflows, as the
				// pipeline's execution role; their own policies allow it.
				// (A Deny on a condition rather than an Allow naming the
				// roles: a principal that does not exist yet, before the
				// account's first build, would make the policy invalid.) A
				// forged message is refused by the request function anyway,
				// but need not reach it.
				map[string]any{
					"Sid": "OnlyImageBuilderPublishes", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
					"Resource":  topic.Ref(),
					"Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": publishers}},
				},
			},
		},
	})
	policy.CfnOptions().SetCondition(p.createImageBuilderTopic)
	pinLogicalID(policy, imageBuilderTopicID+"Policy")

	useExisting := awscdk.NewCfnCondition(stack, jsii.String(approvalUseTopicCnd), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(p.imageBuilderTopic.ValueAsString(), jsii.String(""))),
	})
	for _, c := range []struct {
		id        string
		topicARN  *string
		condition awscdk.CfnCondition
	}{
		{"AmiApprovalImageBuilder", topic.Ref(), p.createImageBuilderTopic},
		{"AmiApprovalExistingTopic", p.imageBuilderTopic.ValueAsString(), useExisting},
	} {
		sub := awssns.NewCfnSubscription(stack, jsii.String(c.id+"Subscription"), &awssns.CfnSubscriptionProps{
			TopicArn: c.topicARN, Protocol: jsii.String("lambda"), Endpoint: fn.FunctionArn(),
		})
		sub.CfnOptions().SetCondition(c.condition)
		pinLogicalID(sub, c.id+"Subscription")
		perm := awslambda.NewCfnPermission(stack, jsii.String(c.id+"Invoke"), &awslambda.CfnPermissionProps{
			Action: jsii.String("lambda:InvokeFunction"), FunctionName: fn.FunctionArn(),
			Principal: jsii.String("sns.amazonaws.com"), SourceArn: c.topicARN,
			// Image Builder publishes in this account; naming it closes the
			// door to a topic of the same name elsewhere.
			SourceAccount: awscdk.Aws_ACCOUNT_ID(),
		})
		perm.CfnOptions().SetCondition(c.condition)
		pinLogicalID(perm, c.id+"Invoke")
	}

	out := awscdk.NewCfnOutput(stack, jsii.String("ImageBuilderTopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("The topic created for Image Builder: put it in your infrastructure configuration."),
		Value:       topic.Ref(),
	})
	out.SetCondition(p.createImageBuilderTopic)
}
