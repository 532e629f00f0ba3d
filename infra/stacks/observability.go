package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// The operational view's names, the same in every stack and in
// template.yaml.
const (
	// OpsTopicParameter names the stack parameter that takes an existing
	// SNS topic for the operational alarms; empty (the default) creates one.
	OpsTopicParameter = "OpsTopicArn"
	opsTopicID        = "OpsTopic"
	opsTopicCondition = "OpsTopicCreate"
	// MetricsNamespace is shared/metrics.Namespace: where the functions'
	// EMF lines become metrics.
	MetricsNamespace = "LambdaSuite"
	// DashboardURLOutput is the output that links to the stack's dashboard.
	DashboardURLOutput = "DashboardUrl"
)

// optionalTopicARNPattern is the CloudFormation AllowedPattern of a
// parameter that takes an SNS topic ARN or nothing (the functions check
// the ARN itself with awsid.ParseSNSTopicARN).
const optionalTopicARNPattern = `^$|^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$`

// Ops is a stack's operational topic.
type Ops struct {
	// Action tells the topic, for an alarm.
	Action awscloudwatch.IAlarmAction
	// TopicARN is the topic's ARN: the one created, or OpsTopicArn's.
	TopicARN *string
}

// Observe gives a stack its operational view, in one call after its
// functions are made:
//   - an SNS topic for operational alarms (encrypted with its own key,
//     which CloudWatch may use), unless the OpsTopicArn parameter names one;
//   - an alarm on each function's Errors, and on the depth of each
//     on-failure queue (a failed asynchronous event is waiting there);
//   - a dashboard: the functions' invocations, errors and duration, and the
//     decisions they emit as EMF metrics (namespace LambdaSuite);
//   - the dashboard's URL as an output.
//
// It returns the operational topic (Ops): its alarm action, for a stack's
// own alarms on its functions' EMF metrics, and its ARN (the created one,
// or the parameter's), for a function that tells operators itself.
func Observe(stack awscdk.Stack, fns ...*Function) Ops {
	param := awscdk.NewCfnParameter(stack, jsii.String(OpsTopicParameter), &awscdk.CfnParameterProps{
		Type:           jsii.String("String"),
		Default:        jsii.String(""),
		Description:    jsii.String("ARN of an SNS topic for the suite's operational alarms (function errors, failed events); empty to create one."),
		AllowedPattern: jsii.String(optionalTopicARNPattern),
	})
	create := awscdk.NewCfnCondition(stack, jsii.String(opsTopicCondition), &awscdk.CfnConditionProps{
		Expression: awscdk.Fn_ConditionEquals(param.ValueAsString(), jsii.String("")),
	})
	topicARN := opsTopic(stack, create)
	arn := awscdk.Token_AsString(awscdk.Fn_ConditionIf(jsii.String(opsTopicCondition), topicARN, param.ValueAsString()), nil)
	action := awscloudwatchactions.NewSnsAction(awssns.Topic_FromTopicArn(stack, jsii.String("OpsTopicTarget"), arn))

	period := awscdk.Duration_Minutes(jsii.Number(5))
	var invocations, errs, durations, decisions []awscloudwatch.IMetric
	for _, f := range fns {
		fn := f.Function
		opts := &awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("Sum")}
		errorMetric := fn.MetricErrors(opts)
		alarm := awscloudwatch.NewAlarm(f.Construct, jsii.String("ErrorsAlarm"), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(fmt.Sprintf("%s returned errors: see its log group for the reason.", *f.Construct.Node().Id())),
			Metric:             errorMetric,
			Threshold:          jsii.Number(0),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			EvaluationPeriods:  jsii.Number(1),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		alarm.AddAlarmAction(action)
		allowTopicChoice(alarm)
		if q := f.OnFailureQueue; q != nil {
			depth := awscloudwatch.NewAlarm(f.Construct, jsii.String("OnFailureDepthAlarm"), &awscloudwatch.AlarmProps{
				AlarmDescription: jsii.String(fmt.Sprintf("A failed asynchronous event of %s is in its on-failure queue, with the reason: read it there.", *f.Construct.Node().Id())),
				Metric: q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
					Period: period, Statistic: jsii.String("Maximum"),
				}),
				Threshold:          jsii.Number(0),
				ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
				EvaluationPeriods:  jsii.Number(1),
				TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
			})
			depth.AddAlarmAction(action)
			allowTopicChoice(depth)
		}
		invocations = append(invocations, fn.MetricInvocations(opts))
		errs = append(errs, errorMetric)
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{Period: period, Statistic: jsii.String("p99")}))
		// The EMF metrics, with and without a Reason, found by search so
		// that a new reason shows without a change here.
		for i, dims := range []string{"FunctionName", "FunctionName,Reason"} {
			decisions = append(decisions, awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s} FunctionName="%s"', 'Sum', 300)`, MetricsNamespace, dims, *fn.FunctionName())),
				Period:     period,
				Label:      jsii.String(fmt.Sprintf("%s %d", *f.Construct.Node().Id(), i)),
			}))
		}
	}

	graph := func(title string, metrics []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(12), Height: jsii.Number(6),
		})
	}
	dashboard := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(24)),
	})
	// The stack's tags reach the dashboard too, but CloudFormation's schema
	// (and cfn-lint's) has no Tags on AWS::CloudWatch::Dashboard.
	dashboard.Node().DefaultChild().(awscdk.CfnResource).AddPropertyDeletionOverride(jsii.String("Tags"))
	dashboard.AddWidgets(graph("Invocations", invocations), graph("Errors", errs))
	dashboard.AddWidgets(graph("Duration p99 (ms)", durations), graph("Decisions ("+MetricsNamespace+" EMF metrics)", decisions))

	awscdk.NewCfnOutput(stack, jsii.String(DashboardURLOutput), &awscdk.CfnOutputProps{
		Description: jsii.String("The stack's CloudWatch dashboard."),
		Value: awscdk.Fn_Sub(jsii.String("https://${Host}/cloudwatch/home?region=${AWS::Region}#dashboards:name=${Name}"),
			&map[string]*string{"Host": consoleHost(stack), "Name": dashboard.DashboardName()}),
	})
	awscdk.NewCfnOutput(stack, jsii.String("OpsTopicArnOutput"), &awscdk.CfnOutputProps{
		Description: jsii.String("The SNS topic created for the operational alarms: subscribe to it."),
		Value:       topicARN,
		Condition:   create,
	})
	return Ops{Action: action, TopicARN: arn}
}

// consoleHost is the AWS Management Console's host in the stack's partition
// (awsid.ConsoleHost's rule, chosen at deploy time): the Region's own host
// in aws, the partition's in aws-cn and aws-us-gov.
func consoleHost(stack awscdk.Stack) *string {
	in := func(id, partition string) awscdk.CfnCondition {
		return awscdk.NewCfnCondition(stack, jsii.String(id), &awscdk.CfnConditionProps{
			Expression: awscdk.Fn_ConditionEquals(awscdk.Aws_PARTITION(), jsii.String(partition)),
		})
	}
	china, govCloud := in("ConsoleInChina", awsid.PartitionChina), in("ConsoleInGovCloud", awsid.PartitionGovCloud)
	return awscdk.Token_AsString(awscdk.Fn_ConditionIf(china.LogicalId(), jsii.String(awsid.ConsoleHostChina),
		awscdk.Fn_ConditionIf(govCloud.LogicalId(), jsii.String(awsid.ConsoleHostGovCloud),
			awscdk.Fn_Sub(jsii.String("${AWS::Region}"+awsid.ConsoleHostAfterRegion), nil))), nil)
}

// allowTopicChoice silences cfn-lint's W1030 on an alarm's action, an
// Fn::If between the created topic and the OpsTopicArn parameter: cfn-lint
// checks the parameter's empty default against AlarmActions' minimum length,
// although the If takes that branch only when the parameter is not empty.
func allowTopicChoice(alarm awscloudwatch.Alarm) {
	alarm.Node().DefaultChild().(awscloudwatch.CfnAlarm).AddMetadata(jsii.String("cfn-lint"), map[string]any{
		"config": map[string]any{"ignore_checks": []string{"W1030"}},
	})
}

// opsTopic creates, under condition create, the operational alarms' topic
// and its key, and returns the topic's ARN. CloudWatch publishes to an
// encrypted topic only with a customer managed key that lets it.
func opsTopic(stack awscdk.Stack, create awscdk.CfnCondition) *string {
	key := awskms.NewCfnKey(stack, jsii.String("OpsTopicKey"), &awskms.CfnKeyProps{
		Description:       jsii.String("Encrypts the suite's operational alarms topic."),
		EnableKeyRotation: jsii.Bool(true),
		KeyPolicy: map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{
					"Sid": "AccountAdministers", "Effect": "Allow", "Action": "kms:*", "Resource": "*",
					"Principal": map[string]any{"AWS": stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("iam"), Region: jsii.String(""), Resource: jsii.String("root")})},
				},
				map[string]any{
					"Sid": "CloudWatchPublishes", "Effect": "Allow", "Action": []string{"kms:Decrypt", "kms:GenerateDataKey*"}, "Resource": "*",
					"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}},
				},
			},
		},
	})
	key.CfnOptions().SetCondition(create)
	pinLogicalID(key, "OpsTopicKey")

	topic := awssns.NewCfnTopic(stack, jsii.String(opsTopicID), &awssns.CfnTopicProps{
		DisplayName:    jsii.String("lambda-suite operations"),
		KmsMasterKeyId: key.AttrArn(),
	})
	topic.CfnOptions().SetCondition(create)
	pinLogicalID(topic, opsTopicID)

	policy := awssns.NewCfnTopicPolicy(stack, jsii.String("OpsTopicPolicy"), &awssns.CfnTopicPolicyProps{
		Topics: &[]*string{topic.Ref()},
		PolicyDocument: map[string]any{
			"Version": "2012-10-17",
			"Statement": []any{
				map[string]any{
					"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow", "Action": "sns:Publish", "Resource": topic.Ref(),
					"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()}},
				},
				map[string]any{
					"Sid": "EnforceTLS", "Effect": "Deny", "Action": "sns:Publish", "Resource": topic.Ref(),
					"Principal": "*",
					"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
				},
			},
		},
	})
	policy.CfnOptions().SetCondition(create)
	pinLogicalID(policy, "OpsTopicPolicy")
	return topic.Ref()
}
