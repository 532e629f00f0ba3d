package stacks

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
)

// EbsAlarms is the disk-alarm capability's function, by folder name.
const EbsAlarms = "ebs-alarms"

// DiskAlarmFunctions lists the folders the disk-alarm stack deploys.
var DiskAlarmFunctions = []string{EbsAlarms}

// Defaults of DiskAlarmStackProps, shared with template.yaml.
const (
	DefaultDiskAlarmTag       = "disk-alarms=enabled"
	DefaultDiskAlarmSchedule  = "rate(15 minutes)"
	DefaultDiskAlarmNamespace = "CWAgent"
	DefaultDiskAlarmWriteRate = "3"
)

// ebsAlarmsTimeout is Lambda's longest: a run stops writing a margin before
// it and queues the rest, so a long run costs nothing when the fleet is
// unchanged and saves passes when it is not.
const ebsAlarmsTimeoutMinutes = 15

// DiskAlarmStackProps configures the disk-alarm stack. Zero values take the
// defaults above and the function's own (docs/ebs-alarms.md).
type DiskAlarmStackProps struct {
	awscdk.StackProps
	// AssetDir holds ebs-alarms/bootstrap.
	AssetDir string
	// TopicARN is an existing SNS topic for the alarms; empty creates one.
	TopicARN string
	// InstanceNamePattern and AlarmTag select the instances of event-driven
	// and scheduled runs; with both empty, AlarmTag takes its default.
	InstanceNamePattern string
	AlarmTag            string
	// AlarmPrefix starts every alarm name; IAM scopes writes to it.
	AlarmPrefix     string
	MetricNamespace string
	// Thresholds is the DISK_THRESHOLDS JSON document; empty for the defaults.
	Thresholds string
	// FillWithin is FILL_WITHIN, a Go duration; empty for no foresight.
	FillWithin       string
	TreatMissingData string
	WriteRate        string
	Schedule         string
	LogRetentionDays int
}

func (p *DiskAlarmStackProps) withDefaults() DiskAlarmStackProps {
	out := *p
	if out.InstanceNamePattern == "" && out.AlarmTag == "" {
		out.AlarmTag = DefaultDiskAlarmTag
	}
	if out.AlarmPrefix == "" {
		out.AlarmPrefix = diskalarm.DefaultPrefix
	}
	if out.MetricNamespace == "" {
		out.MetricNamespace = DefaultDiskAlarmNamespace
	}
	if out.TreatMissingData == "" {
		out.TreatMissingData = diskalarm.DefaultTreatMissingData
	}
	if out.WriteRate == "" {
		out.WriteRate = DefaultDiskAlarmWriteRate
	}
	if out.Schedule == "" {
		out.Schedule = DefaultDiskAlarmSchedule
	}
	return out
}

// validate applies the function's own checks, so a stack never deploys a
// configuration the function would refuse at start.
func (p *DiskAlarmStackProps) validate() error {
	var errs []error
	if p.TopicARN != "" {
		_, err := awsid.ParseSNSTopicARN(p.TopicARN)
		errs = append(errs, err)
	}
	if p.InstanceNamePattern != "" {
		errs = append(errs, diskalarm.ValidatePattern(p.InstanceNamePattern))
	}
	if p.AlarmTag != "" {
		_, err := awsid.ParseTag(p.AlarmTag)
		errs = append(errs, err)
	}
	errs = append(errs, diskalarm.ValidatePrefix(p.AlarmPrefix))
	if strings.Contains(p.AlarmPrefix, "$") {
		// The IAM resource is an Fn::Sub string.
		errs = append(errs, fmt.Errorf("alarm prefix %q: $ is not allowed", p.AlarmPrefix))
	}
	if p.FillWithin != "" {
		errs = append(errs, diskalarm.ValidateFillWithin(p.FillWithin))
	}
	if _, err := diskalarm.ParseThresholds(p.Thresholds); err != nil {
		errs = append(errs, fmt.Errorf("thresholds: %w", err))
	}
	if !slices.Contains(diskalarm.TreatMissingDataValues, p.TreatMissingData) {
		errs = append(errs, fmt.Errorf("treat missing data %q: want one of %v", p.TreatMissingData, diskalarm.TreatMissingDataValues))
	}
	if r, err := strconv.ParseFloat(p.WriteRate, 64); err != nil || r < 0.1 || r > 50 {
		errs = append(errs, fmt.Errorf("write rate %q: want a number of writes a second in [0.1, 50]", p.WriteRate))
	}
	if !strings.HasPrefix(p.Schedule, "rate(") && !strings.HasPrefix(p.Schedule, "cron(") {
		errs = append(errs, fmt.Errorf("schedule %q: want rate(...) or cron(...)", p.Schedule))
	}
	errs = append(errs, checkLogRetention(p.LogRetentionDays))
	errs = append(errs, checkFunctionAssets(p.AssetDir, DiskAlarmFunctions...))
	return errors.Join(errs...)
}

// NewDiskAlarmStack builds the disk-alarm capability: ebs-alarms, triggered
// by instance state changes, a schedule and its own continuation queue,
// and the SNS topic its alarms notify (unless an existing one is given).
func NewDiskAlarmStack(scope constructs.Construct, id string, props *DiskAlarmStackProps) (awscdk.Stack, error) {
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("disk-alarm stack: %w", err)
	}

	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	tagCapability(stack, "disk-alarm")

	topicARN := p.TopicARN
	if topicARN == "" {
		// Unencrypted: CloudWatch alarms cannot publish to a topic under
		// the AWS-managed SNS key, and the notifications hold no secrets.
		topic := awssns.NewTopic(stack, jsii.String("Topic"), &awssns.TopicProps{
			DisplayName: jsii.String("EBS disk space alarms"),
			EnforceSSL:  jsii.Bool(true),
		})
		// EnforceSSL makes CDK write a topic policy, which replaces SNS's
		// default one: without this Allow, the alarms' actions would fail
		// with "not authorized to perform SNS:Publish". Only this account's
		// alarms under the prefix may publish.
		topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowSuiteAlarms"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sns:Publish"),
			Resources:  &[]*string{topic.TopicArn()},
			Conditions: &map[string]any{
				"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
				"ArnLike":      map[string]any{"aws:SourceArn": alarmARN(stack, p.AlarmPrefix)},
			},
		}))
		// Operators subscribe to it: never replace it.
		topic.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
		pinLogicalID(topic, "EbsAlarmsTopic")
		topicARN = *topic.TopicArn()
	}

	// The continuation queue: a run stopped by the deadline queues the rest
	// here, and the queue invokes the function again. A message that fails
	// three times goes to the dead-letter queue for a person to look at.
	deadLetter := awssqs.NewQueue(stack, jsii.String("ResumeDeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   awscdk.RemovalPolicy_RETAIN,
	})
	pinLogicalID(deadLetter, "EbsAlarmsResumeDeadLetterQueue")
	resume := awssqs.NewQueue(stack, jsii.String("ResumeQueue"), &awssqs.QueueProps{
		Encryption: awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL: jsii.Bool(true),
		// Six times the function's timeout, as Lambda advises for SQS
		// event sources, so a message is never handed out twice at once.
		VisibilityTimeout: awscdk.Duration_Minutes(jsii.Number(6 * ebsAlarmsTimeoutMinutes)),
		RetentionPeriod:   awscdk.Duration_Days(jsii.Number(1)),
		DeadLetterQueue:   &awssqs.DeadLetterQueue{Queue: deadLetter, MaxReceiveCount: jsii.Number(3)},
	})
	pinLogicalID(resume, "EbsAlarmsResumeQueue")

	fn := NewFunction(stack, "EbsAlarms", &FunctionProps{
		Name:        EbsAlarms,
		AssetDir:    p.AssetDir,
		Description: "Keeps CloudWatch disk-space alarms in step with EC2 instances: two per disk, thresholds by disk size.",
		Timeout:     awscdk.Duration_Minutes(jsii.Number(ebsAlarmsTimeoutMinutes)),
		// A 20,000-instance fleet has some 120,000 alarms and series in
		// memory during a run; more memory is also more CPU for the JSON.
		MemoryMB: 1024,
		Environment: map[string]string{
			"SNS_TOPIC_ARN":         topicARN,
			"INSTANCE_NAME_PATTERN": p.InstanceNamePattern,
			"ALARM_TAG":             p.AlarmTag,
			"ALARM_PREFIX":          p.AlarmPrefix,
			"METRIC_NAMESPACE":      p.MetricNamespace,
			"DISK_THRESHOLDS":       p.Thresholds,
			"TREAT_MISSING_DATA":    p.TreatMissingData,
			"WRITE_RATE":            p.WriteRate,
			"RECENT_METRICS_ONLY":   "true",
			"SIZE_REFRESH":          diskalarm.DefaultSizeRefresh.String(),
			"FULL_PASS":             diskalarm.DefaultFullPass.String(),
			"QUOTA_SHARE":           strconv.FormatFloat(diskalarm.DefaultQuotaShare, 'g', -1, 64),
			"FILL_WITHIN":           p.FillWithin,
			"RESUME_QUEUE_URL":      *resume.QueueUrl(),
			// Throttled writes are retried with back-off by the SDK.
			"AWS_RETRY_MODE":   "adaptive",
			"AWS_MAX_ATTEMPTS": "10",
		},
		Statements: []awsiam.PolicyStatement{
			// None of these has resource-level permissions.
			statement("ReadFleet", []string{"ec2:DescribeInstances", "cloudwatch:ListMetrics", "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"}, star(), nil),
			// TagResource: PutMetricAlarm sets the owner tags on create.
			statement("WriteSuiteAlarms", []string{"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"},
				[]*string{alarmARN(stack, p.AlarmPrefix)}, nil),
			// By hand, with the mapping below, rather than SqsEventSource
			// and GrantSendMessages: both add sqs:GetQueueUrl, which the
			// function never calls (it is given the queue's URL).
			statement("ResumeQueue", []string{"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"},
				[]*string{resume.QueueArn()}, nil),
			// The chain's sealed lease is a tag on the queue.
			statement("ChainLease", []string{"sqs:TagQueue", "sqs:ListQueueTags"}, []*string{resume.QueueArn()}, nil),
		},
		OnFailure:        true,
		LogRetentionDays: p.LogRetentionDays,
	})

	role := fn.Function.Role().RoleArn()
	// Only the function's role may queue a continuation: within the account
	// an identity policy's Allow (a developer's sqs:SendMessage on *) would
	// be enough without this Deny (IAM User Guide, "Policy evaluation logic":
	// in one account, an Allow in either an identity or a resource policy
	// allows). Lambda's event source mapping polls as the same role.
	resume.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("OnlyEbsAlarmsSends"),
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("sqs:SendMessage"),
		Resources:  &[]*string{resume.QueueArn()},
		Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": role}},
	}))
	fn.Function.AddEnvironment(jsii.String("PROOF_KEY_ARN"), proofKey(stack, role).KeyArn(), nil)

	awslambda.NewEventSourceMapping(stack, jsii.String("ResumeQueueMapping"), &awslambda.EventSourceMappingProps{
		Target:         fn.Function,
		EventSourceArn: resume.QueueArn(),
		// One continuation at a time; two is the least SQS allows, and a
		// duplicate chain only writes the same differences.
		BatchSize:               jsii.Number(1),
		MaxConcurrency:          jsii.Number(2),
		ReportBatchItemFailures: jsii.Bool(true),
	})
	awsevents.NewRule(stack, jsii.String("StateChangeRule"), &awsevents.RuleProps{
		Description: jsii.String("EC2 instances running or terminated, to " + EbsAlarms),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ec2"),
			DetailType: jsii.Strings("EC2 Instance State-change Notification"),
			Detail:     &map[string]any{"state": []string{"running", "terminated"}},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn.Function, nil)},
	})
	awsevents.NewRule(stack, jsii.String("ScheduleRule"), &awsevents.RuleProps{
		Description: jsii.String("Reconciles every selected instance's disk alarms"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(p.Schedule)),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(fn.Function, nil)},
	})

	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{
		Description: jsii.String("SNS topic the disk alarms notify: subscribe to it"),
		Value:       jsii.String(topicARN),
	})
	awscdk.NewCfnOutput(stack, jsii.String("FunctionName"), &awscdk.CfnOutputProps{
		Description: jsii.String(`Invoke with {"hostname": "Windows*", "sns_topic_arn": "arn:aws:sns:..."}`),
		Value:       fn.Function.FunctionName(),
	})
	ops := Observe(stack, fn).Action
	tampered := awscloudwatch.NewAlarm(fn.Construct, jsii.String("TamperedAlarm"), &awscloudwatch.AlarmProps{
		AlarmDescription: jsii.String("EbsAlarms found a continuation or chain lease it did not seal (tampering), and did not act on it: see its log group for the message."),
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(MetricsNamespace), MetricName: jsii.String("ContinuationsTampered"),
			DimensionsMap: &map[string]*string{"FunctionName": fn.Function.FunctionName()},
			Period:        awscdk.Duration_Minutes(jsii.Number(5)), Statistic: jsii.String("Sum"),
		}),
		Threshold:          jsii.Number(0),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		EvaluationPeriods:  jsii.Number(1),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	tampered.AddAlarmAction(ops)
	allowTopicChoice(tampered)
	return stack, nil
}

// proofKey is the HMAC key that seals ebs-alarms' continuations and its
// chain's lease (shared/proof), usable only by role: the account
// administers it but may not make or check a MAC, and a Deny holds against
// grants too. HMAC keys take no automatic rotation (AWS KMS Developer
// Guide, "Rotating AWS KMS keys"); KeySpec HMAC_256 with KeyUsage
// GENERATE_VERIFY_MAC ("HMAC keys in AWS KMS").
func proofKey(stack awscdk.Stack, role *string) awskms.Key {
	macs := jsii.Strings("kms:GenerateMac", "kms:VerifyMac")
	policy := awsiam.NewPolicyDocument(&awsiam.PolicyDocumentProps{Statements: &[]awsiam.PolicyStatement{
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AccountAdministers"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAccountRootPrincipal()},
			Actions: jsii.Strings("kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
				"kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"),
			Resources: jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("EbsAlarmsSeals"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewArnPrincipal(role)},
			Actions:    macs,
			Resources:  jsii.Strings("*"),
		}),
		awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("NobodyElseSeals"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
			Actions:    macs,
			Resources:  jsii.Strings("*"),
			Conditions: &map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": role}},
		}),
	}})
	key := awskms.NewKey(stack, jsii.String("ProofKey"), &awskms.KeyProps{
		Description: jsii.String("Seals ebs-alarms continuation messages (HMAC, shared/proof)."),
		KeySpec:     awskms.KeySpec_HMAC_256,
		KeyUsage:    awskms.KeyUsage_GENERATE_VERIFY_MAC,
		Policy:      policy,
		// It holds no data: a key deleted with the stack costs only the
		// continuations then in flight, which the schedule covers.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	pinLogicalID(key, "EbsAlarmsProofKey")
	return key
}

// alarmARN is the ARN of the alarms under prefix, in this stack's region.
func alarmARN(stack awscdk.Stack, prefix string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("cloudwatch"), Resource: jsii.String("alarm"),
		ResourceName: jsii.String(prefix + "*"), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})
}
