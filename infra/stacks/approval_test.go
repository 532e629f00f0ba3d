package stacks

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

var approvalDefault onceTemplate

// defaultApproval synthesizes the stack with default props, once.
func defaultApproval(t *testing.T) assertions.Template {
	t.Helper()
	return approvalDefault.get(t, func() (awscdk.Stack, error) {
		return NewApprovalStack(awscdk.NewApp(nil), "AmiApproval", &ApprovalStackProps{AssetDir: assetDir})
	})
}

func TestApprovalResourceCounts(t *testing.T) {
	tmpl := defaultApproval(t)
	checkResourceCounts(t, tmpl, map[string]int{
		"AWS::Lambda::Function":    3, // request, link, sweeper
		"AWS::KMS::Key":            3, // the approver topic's, the operational topic's, and the proof key
		"AWS::Events::Rule":        2, // the sweeper's schedule, the waiting-step event
		"AWS::DynamoDB::Table":     1,
		"AWS::SNS::Topic":          4, // approver, target, Image Builder's when none is given, operational
		"AWS::SNS::Subscription":   4, // two by email, Image Builder's topic new or existing
		"AWS::ApiGatewayV2::Api":   1,
		"AWS::ApiGatewayV2::Stage": 1,
		"AWS::ApiGatewayV2::Route": 1,
		"AWS::Logs::LogGroup":      4,
		"AWS::SQS::Queue":          2, // the request function's and the sweeper's on-failure queues
		"AWS::IAM::Role":           5, // the functions', and the example pipeline's instance and execution roles (conditional)
		// The example pipeline, made only when AmiApprovalExamplePipeline is true.
		"AWS::ImageBuilder::Workflow":      1,
		"AWS::ImageBuilder::ImagePipeline": 1,
	})
}

func TestApprovalTable(t *testing.T) {
	checkRecordTable(t, defaultApproval(t))
}

// approvalRole returns the logical ID of a function's role.
func approvalRole(t *testing.T, tmpl assertions.Template, function string) string {
	t.Helper()
	fn := resources(tmpl, "AWS::Lambda::Function")[functionID(t, tmpl, function)]
	return fn["Properties"].(map[string]any)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
}

// approvalPolicy returns the statements of a function's role policy.
func approvalPolicy(t *testing.T, tmpl assertions.Template, function string) []any {
	t.Helper()
	fn := resources(tmpl, "AWS::Lambda::Function")[functionID(t, tmpl, function)]
	role := fn["Properties"].(map[string]any)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0]
	for _, p := range resources(tmpl, "AWS::IAM::Policy") {
		props := p["Properties"].(map[string]any)
		if slices.ContainsFunc(props["Roles"].([]any), func(r any) bool { return cmp.Equal(r, map[string]any{"Ref": role}) }) {
			return props["PolicyDocument"].(map[string]any)["Statement"].([]any)
		}
	}
	t.Fatalf("no policy for %s's role %v", function, role)
	return nil
}

// TestApprovalScopedStatements pins each function's permissions whole: every
// write is scoped to the stack's table and topics, and sharing to AMIs that
// Image Builder tagged.
func TestApprovalScopedStatements(t *testing.T) {
	tmpl := defaultApproval(t)
	table := map[string]any{"Fn::GetAtt": []any{"AmiApprovalTable", "Arn"}}
	allow := func(sid string, action, resource any, condition ...map[string]any) map[string]any {
		s := map[string]any{"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
		if len(condition) > 0 {
			s["Condition"] = condition[0]
		}
		return s
	}
	// imagebuilder:GetImage only on this account's images.
	getImage := allow("AskImageBuilder", "imagebuilder:GetImage", cfnARN("arn:${AWS::Partition}:imagebuilder:*:${AWS::AccountId}:image/*"))
	// The workflow mode: this account's workflow step executions (the only
	// resource type of GetWorkflowStepExecution) and, for
	// SendWorkflowStepAction, which needs both, its image build versions.
	builds := cfnARN("arn:${AWS::Partition}:imagebuilder:*:${AWS::AccountId}:image/*/*/*")
	steps := cfnARN("arn:${AWS::Partition}:imagebuilder:*:${AWS::AccountId}:workflow-step-execution/*")
	readStep := allow("ReadWorkflowSteps", "imagebuilder:GetWorkflowStepExecution", steps)
	actOnStep := allow("ActOnWorkflowSteps", "imagebuilder:SendWorkflowStepAction", []any{builds, steps})
	// What topic.GrantPublish gives, exactly: sns:Publish on the topic and,
	// for the encrypted approver topic, the two key actions SNS needs, and
	// nothing a hand-written statement would not.
	grant := func(action, resource any) map[string]any {
		return map[string]any{"Effect": "Allow", "Action": action, "Resource": resource}
	}
	emailApprovers := []any{
		grant("sns:Publish", map[string]any{"Ref": "AmiApprovalApproverTopic"}),
		grant([]any{"kms:Decrypt", "kms:GenerateDataKey*"}, map[string]any{"Fn::GetAtt": []any{"AmiApprovalApproverKey", "Arn"}}),
	}
	notifyTargets := grant("sns:Publish", map[string]any{"Ref": "AmiApprovalTargetTopic"})
	onFailure := func(queue string) map[string]any {
		return map[string]any{
			"Effect": "Allow", "Action": []any{"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"},
			"Resource": map[string]any{"Fn::GetAtt": []any{queue, "Arn"}},
		}
	}
	sharing := []any{
		getImage,
		allow("DescribeAMIs", []any{"ec2:DescribeImages", "ec2:DescribeSnapshots"}, "*"),
		allow("ShareImageBuilderAMIs", "ec2:ModifyImageAttribute", cfnARN("arn:${AWS::Partition}:ec2:*::image/*"),
			map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/CreatedBy": "EC2 Image Builder"}}),
		allow("DescribeSnapshotKeys", "kms:DescribeKey", cfnARN("arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*")),
	}
	// No role updates or deletes an audit item; the request function puts
	// none either.
	appendOnly := func(actions ...any) map[string]any {
		return map[string]any{"Sid": "AuditIsAppendOnly", "Effect": "Deny", "Action": actions, "Resource": table,
			"Condition": map[string]any{"ForAnyValue:StringLike": map[string]any{"dynamodb:LeadingKeys": []any{"audit#*"}}}}
	}
	tests := []struct {
		function string
		want     []any
	}{
		{AmiApprovalRequest, []any{
			onFailure("AmiApprovalRequestOnFailureQueue"),
			allow("Decisions", []any{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}, table),
			appendOnly("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
			getImage,
			readStep,
			allow("DescribeAMIs", "ec2:DescribeImages", "*"),
			// Named approvers: SendEmail only as the identity, only from
			// APPROVAL_FROM.
			map[string]any{"Sid": "EmailNamedApprovers", "Effect": "Allow", "Action": "ses:SendEmail",
				"Resource": map[string]any{"Fn::Join": []any{"", []any{"arn:", map[string]any{"Ref": "AWS::Partition"}, ":ses:",
					map[string]any{"Ref": "AWS::Region"}, ":", map[string]any{"Ref": "AWS::AccountId"}, ":identity/", map[string]any{"Ref": "AmiApprovalSesIdentity"}}}},
				"Condition": map[string]any{"StringEquals": map[string]any{"ses:FromAddress": map[string]any{"Ref": "AmiApprovalFrom"}}}},
			emailApprovers[0], emailApprovers[1],
		}},
		{AmiApprovalLink, slices.Concat([]any{
			allow("Decisions", []any{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}, table),
			appendOnly("dynamodb:UpdateItem", "dynamodb:DeleteItem"),
			readStep,
			actOnStep,
		}, sharing, []any{notifyTargets})},
		{AmiApprovalSweeper, slices.Concat([]any{
			onFailure("AmiApprovalSweeperOnFailureQueue"),
			allow("Decisions", []any{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Scan"}, table),
			appendOnly("dynamodb:UpdateItem", "dynamodb:DeleteItem"),
			// It sends an unconfirmed step decision again.
			readStep,
			actOnStep,
		}, sharing, emailApprovers, []any{notifyTargets,
			allow("CheckApprovers", "sns:ListSubscriptionsByTopic", map[string]any{"Ref": "AmiApprovalApproverTopic"}),
			// Tampered records, told to the operators.
			allow("TellOperators", "sns:Publish", map[string]any{"Fn::If": []any{"OpsTopicCreate", map[string]any{"Ref": "OpsTopic"}, map[string]any{"Ref": "OpsTopicArn"}}}),
			allow("EncryptForOperators", []any{"kms:GenerateDataKey*", "kms:Decrypt"}, cfnARN("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*"),
				map[string]any{"StringEquals": map[string]any{"kms:ViaService": map[string]any{"Fn::Sub": "sns.${AWS::Region}.amazonaws.com"}}}),
		})},
	}
	for _, tt := range tests {
		t.Run(tt.function, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, approvalPolicy(t, tmpl, tt.function)); diff != "" {
				t.Errorf("%s's statements (-want +got):\n%s", tt.function, diff)
			}
		})
	}
}

// TestApprovalNoMutatingActionOnAnyResource: "*" is for EC2 reads only.
func TestApprovalNoMutatingActionOnAnyResource(t *testing.T) {
	tmpl := defaultApproval(t)
	for id, policy := range resources(tmpl, "AWS::IAM::Policy") {
		doc := policy["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			s := s.(map[string]any)
			if !slices.Contains(asStrings(s["Resource"]), "*") {
				continue
			}
			for _, action := range asStrings(s["Action"]) {
				if !strings.HasPrefix(action, "ec2:Describe") {
					t.Errorf("%s: %s allowed on Resource \"*\"", id, action)
				}
			}
		}
	}
}

func TestApprovalFunctions(t *testing.T) {
	tmpl := defaultApproval(t)
	env := map[string]any{
		"APPROVER_TOPIC_ARN":            map[string]any{"Ref": "AmiApprovalApproverTopic"},
		"TARGET_TOPIC_ARN":              map[string]any{"Ref": "AmiApprovalTargetTopic"},
		"TARGET_ACCOUNT_IDS":            map[string]any{"Ref": "AmiApprovalTargetAccountIds"},
		"TARGET_ORGANIZATION_ARNS":      map[string]any{"Ref": "AmiApprovalTargetOrganizationArns"},
		"TARGET_OU_ARNS":                map[string]any{"Ref": "AmiApprovalTargetOuArns"},
		"APPROVAL_URL":                  assertions.Match_AnyValue(),
		"DECISIONS_TABLE":               map[string]any{"Ref": "AmiApprovalTable"},
		"LINK_TTL":                      map[string]any{"Ref": "AmiApprovalLinkTtl"},
		"APPROVERS":                     map[string]any{"Ref": "AmiApprovalApprovers"},
		"APPROVAL_FROM":                 map[string]any{"Ref": "AmiApprovalFrom"},
		"APPROVAL_QUORUM":               map[string]any{"Ref": "AmiApprovalQuorum"},
		"APPROVAL_QUORUM_ORGANIZATIONS": map[string]any{"Ref": "AmiApprovalQuorumOrganizations"},
		"APPROVAL_QUORUM_ACCOUNTS":      map[string]any{"Ref": "AmiApprovalQuorumAccounts"},
		"PROOF_KEY_ARN":                 map[string]any{"Fn::GetAtt": []any{"AmiApprovalProofKey", "Arn"}},
	}
	// The sweeper alone reminds, so it alone reads STEP_REMINDER_LEAD.
	sweeperEnv := maps.Clone(env)
	sweeperEnv["STEP_REMINDER_LEAD"] = map[string]any{"Ref": "AmiApprovalStepReminderLead"}
	for name, timeout := range map[string]int{AmiApprovalRequest: 30, AmiApprovalLink: 25, AmiApprovalSweeper: 60} {
		t.Run(name, func(t *testing.T) {
			env := maps.Clone(env)
			if name == AmiApprovalSweeper {
				env = maps.Clone(sweeperEnv)
				env["OPS_TOPIC_ARN"] = map[string]any{"Fn::If": []any{"OpsTopicCreate", map[string]any{"Ref": "OpsTopic"}, map[string]any{"Ref": "OpsTopicArn"}}}
			}
			check(t, func() {
				tmpl.HasResource(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Metadata": map[string]any{FunctionMetadataKey: name},
					"Properties": map[string]any{
						"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap", "Timeout": timeout,
						"Environment": map[string]any{"Variables": assertions.Match_ObjectEquals(&env)},
					},
				})
			})
		})
	}
	// The request function is invoked asynchronously (SNS): failed events
	// go to its queue. The link function answers API Gateway directly.
	check(t, func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"FunctionName": map[string]any{"Ref": functionID(t, tmpl, AmiApprovalRequest)}, "MaximumRetryAttempts": 2,
		}, jsii.Number(1))
	})
	check(t, func() {
		tmpl.ResourcePropertiesCountIs(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"FunctionName": map[string]any{"Ref": functionID(t, tmpl, AmiApprovalSweeper)}, "MaximumRetryAttempts": 2,
		}, jsii.Number(1))
	})
	check(t, func() { tmpl.ResourceCountIs(jsii.String("AWS::Lambda::EventInvokeConfig"), jsii.Number(2)) })
}

// TestApprovalSweepSchedule: the sweeper runs every 5 minutes.
func TestApprovalSweepSchedule(t *testing.T) {
	tmpl := defaultApproval(t)
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(5 minutes)", "State": "ENABLED",
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn": map[string]any{"Fn::GetAtt": []any{functionID(t, tmpl, AmiApprovalSweeper), "Arn"}},
			})},
		})
	})
}

// topicPolicy returns the statements of the policy of a topic.
func topicPolicy(t *testing.T, tmpl assertions.Template, topic string) []any {
	t.Helper()
	for _, p := range resources(tmpl, "AWS::SNS::TopicPolicy") {
		props := p["Properties"].(map[string]any)
		if cmp.Equal(props["Topics"], []any{map[string]any{"Ref": topic}}) {
			return props["PolicyDocument"].(map[string]any)["Statement"].([]any)
		}
	}
	t.Fatalf("no policy for topic %s", topic)
	return nil
}

// TestApprovalTopicPolicies: Image Builder's topic takes messages only from
// Image Builder's service-linked role; the approver topic, whose messages
// carry approval links, is encrypted and takes subscriptions only from the
// stack (CloudFormation) and the principal given as a parameter.
func TestApprovalTopicPolicies(t *testing.T) {
	tmpl := defaultApproval(t)
	tls := func(sid any, action string, topic string) map[string]any {
		s := map[string]any{
			"Effect": "Deny", "Principal": "*", "Action": action, "Resource": map[string]any{"Ref": topic},
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}
		if sid != nil {
			s["Sid"] = sid
		}
		return s
	}
	// Whoever makes the subscription (the stack's own is made by
	// CloudFormation as the caller or its service role), it must be the
	// approver address by email, unless the caller is the named principal.
	notSubscriber := map[string]any{"aws:PrincipalArn": map[string]any{"Ref": "AmiApprovalSubscriberPrincipalArn"}}
	subscribeDeny := func(sid string, condition map[string]any) map[string]any {
		condition["ArnNotLike"] = notSubscriber
		return map[string]any{
			"Sid": sid, "Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "sns:Subscribe",
			"Resource": map[string]any{"Ref": "AmiApprovalApproverTopic"}, "Condition": condition,
		}
	}
	// Only the functions that publish to a topic may (a Deny on
	// aws:PrincipalArn: an Allow alone restricts nothing in the account).
	onlyPublishers := func(topic string, roles ...string) map[string]any {
		var arns []any
		for _, r := range roles {
			arns = append(arns, map[string]any{"Fn::GetAtt": []any{r, "Arn"}})
		}
		return map[string]any{
			"Sid": "OnlyTheSuitePublishes", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "sns:Publish",
			"Resource": map[string]any{"Ref": topic}, "Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": arns}},
		}
	}
	want := map[string][]any{
		"AmiApprovalTargetTopic": {
			tls("AllowPublishThroughSSLOnly", "sns:Publish", "AmiApprovalTargetTopic"),
			onlyPublishers("AmiApprovalTargetTopic", approvalRole(t, tmpl, AmiApprovalLink), approvalRole(t, tmpl, AmiApprovalSweeper)),
		},
		"AmiApprovalImageBuilderTopic": {
			tls("EnforceTLS", "sns:Publish", "AmiApprovalImageBuilderTopic"),
			// Its condition, the publishers, is TestApprovalImageBuilderTopicPublishers's.
			map[string]any{
				"Sid": "OnlyImageBuilderPublishes", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
				"Resource": map[string]any{"Ref": "AmiApprovalImageBuilderTopic"},
			},
		},
		"AmiApprovalApproverTopic": {
			map[string]any{
				"Sid": "AllowPublishThroughSSLOnly", "Effect": "Deny", "Principal": "*", "Action": "sns:Publish",
				"Resource":  map[string]any{"Ref": "AmiApprovalApproverTopic"},
				"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
			},
			subscribeDeny("OnlyKnownSubscribers", map[string]any{
				"StringNotEqualsIgnoreCase": map[string]any{"sns:Endpoint": map[string]any{"Ref": "AmiApprovalApproverEmail"}},
			}),
			subscribeDeny("OnlyEmailSubscribers", map[string]any{
				"StringNotEquals": map[string]any{"sns:Protocol": "email"},
			}),
			onlyPublishers("AmiApprovalApproverTopic", approvalRole(t, tmpl, AmiApprovalRequest), approvalRole(t, tmpl, AmiApprovalSweeper)),
		},
	}
	for topic, statements := range want {
		got := topicPolicy(t, tmpl, topic)
		if topic == "AmiApprovalImageBuilderTopic" && len(got) == 2 {
			publishers := maps.Clone(got[1].(map[string]any))
			delete(publishers, "Condition")
			got = []any{got[0], publishers}
		}
		if diff := cmp.Diff(statements, got); diff != "" {
			t.Errorf("%s's policy (-want +got):\n%s", topic, diff)
		}
	}
	// aws:CalledVia is absent when CloudFormation runs with a service role
	// (as the CDK's deployments do), and an exemption on it would let
	// anyone who may create a stack subscribe.
	for _, tmpl := range map[string]map[string]any{"CDK": *tmpl.ToJSON(), "SAM": readSAMTemplate(t, samCapabilityTemplates["AmiApproval"])} {
		if s := canonical(tmpl["Resources"]); strings.Contains(s, "aws:CalledVia") {
			t.Errorf("a policy still tests aws:CalledVia")
		}
	}
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SNS::Topic"), map[string]any{
			"DisplayName": "AMI approval", "KmsMasterKeyId": map[string]any{"Fn::GetAtt": []any{"AmiApprovalApproverKey", "Arn"}},
		})
	})
}

// TestApprovalKey: the approver topic's key rotates, is kept, and lets SNS
// use it for this account only.
func TestApprovalKey(t *testing.T) {
	tmpl := defaultApproval(t)
	check(t, func() {
		tmpl.HasResource(jsii.String("AWS::KMS::Key"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": map[string]any{
				"EnableKeyRotation": true,
				"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
					"Sid": "LetSNSUseTheKey", "Effect": "Allow", "Principal": map[string]any{"Service": "sns.amazonaws.com"},
					"Action": []any{"kms:GenerateDataKey*", "kms:Decrypt"}, "Resource": "*",
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
				}})},
			},
		})
	})
}

func TestApprovalTriggers(t *testing.T) {
	tmpl := defaultApproval(t)
	request := map[string]any{"Fn::GetAtt": []any{functionID(t, tmpl, AmiApprovalRequest), "Arn"}}
	t.Run("Image Builder topic, new or existing", func(t *testing.T) {
		for condition, topic := range map[string]any{
			"AmiApprovalCreateImageBuilderTopic":      map[string]any{"Ref": "AmiApprovalImageBuilderTopic"},
			"AmiApprovalUseExistingImageBuilderTopic": map[string]any{"Ref": "AmiApprovalImageBuilderTopicArn"},
		} {
			check(t, func() {
				tmpl.HasResource(jsii.String("AWS::SNS::Subscription"), map[string]any{
					"Condition":  condition,
					"Properties": map[string]any{"Protocol": "lambda", "TopicArn": topic, "Endpoint": request},
				})
			})
			check(t, func() {
				tmpl.HasResource(jsii.String("AWS::Lambda::Permission"), map[string]any{
					"Condition": condition,
					"Properties": map[string]any{
						"Principal": "sns.amazonaws.com", "SourceArn": topic, "FunctionName": request,
						"SourceAccount": map[string]any{"Ref": "AWS::AccountId"},
					},
				})
			})
		}
		check(t, func() {
			tmpl.HasResource(jsii.String("AWS::SNS::Topic"), map[string]any{"Condition": "AmiApprovalCreateImageBuilderTopic"})
		})
	})
	t.Run("HTTP API", func(t *testing.T) {
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
				"StageName": "$default", "AutoDeploy": true,
				"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": DefaultApprovalThrottleRate, "ThrottlingBurstLimit": DefaultApprovalThrottleBurst},
				"AccessLogSettings":    map[string]any{"DestinationArn": map[string]any{"Fn::GetAtt": []any{"AmiApprovalApiAccessLogs", "Arn"}}},
			})
		})
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{"RouteKey": "ANY /"})
		})
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Integration"), map[string]any{
				"IntegrationType": "AWS_PROXY", "PayloadFormatVersion": "2.0",
				"IntegrationUri": map[string]any{"Fn::GetAtt": []any{functionID(t, tmpl, AmiApprovalLink), "Arn"}},
			})
		})
		for _, stage := range resources(tmpl, "AWS::ApiGatewayV2::Stage") {
			format := stage["Properties"].(map[string]any)["AccessLogSettings"].(map[string]any)["Format"].(string)
			if strings.Contains(format, "querystring") || strings.Contains(format, "$context.requestOverride") {
				t.Errorf("access log format %s may log the token", format)
			}
		}
	})
	t.Run("email subscriptions only when given", func(t *testing.T) {
		for id, cond := range map[string]string{"AmiApprovalApproverSubscription": "AmiApprovalApproverSubscriptionCondition", "AmiApprovalTargetSubscription": "AmiApprovalTargetSubscriptionCondition"} {
			sub := resources(tmpl, "AWS::SNS::Subscription")[id]
			if sub["Condition"] != cond || sub["Properties"].(map[string]any)["Protocol"] != "email" {
				t.Errorf("%s = %v, want an email subscription under %s", id, sub, cond)
			}
		}
	})
}

// TestApprovalLogicalIDs pins the IDs of what holds data or is referenced
// by name (template.yaml uses the same): a change would replace them.
func TestApprovalLogicalIDs(t *testing.T) {
	tmpl := defaultApproval(t)
	tests := []struct {
		typ  string
		want []string
	}{
		{"AWS::DynamoDB::Table", []string{"AmiApprovalTable"}},
		{"AWS::SNS::Topic", []string{"AmiApprovalApproverTopic", "AmiApprovalImageBuilderTopic", "AmiApprovalTargetTopic", "OpsTopic"}},
		{"AWS::Logs::LogGroup", []string{"AmiApprovalApiAccessLogs", "AmiApprovalLinkLogGroup", "AmiApprovalRequestLogGroup", "AmiApprovalSweeperLogGroup"}},
		{"AWS::SQS::Queue", []string{"AmiApprovalRequestOnFailureQueue", "AmiApprovalSweeperOnFailureQueue"}},
		{"AWS::KMS::Key", []string{"AmiApprovalApproverKey", "AmiApprovalProofKey", "OpsTopicKey"}},
		{"AWS::ApiGatewayV2::Api", []string{"AmiApprovalApi"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			var got []string
			for id := range resources(tmpl, tt.typ) {
				got = append(got, id)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("logical IDs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestApprovalProps(t *testing.T) {
	dir := assetDir
	stack, err := NewApprovalStack(awscdk.NewApp(nil), "AmiApproval", &ApprovalStackProps{AssetDir: dir, ThrottleRate: 2, ThrottleBurst: 4, LogRetentionDays: 90})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := assertions.Template_FromStack(stack, nil)
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 2, "ThrottlingBurstLimit": 4},
		})
	})
	check(t, func() {
		tmpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 90})
	})

	for name, props := range map[string]ApprovalStackProps{
		"make build":       {AssetDir: t.TempDir()},
		"throttle":         {AssetDir: dir, ThrottleRate: -1},
		"log retention 31": {AssetDir: dir, LogRetentionDays: 31},
	} {
		if _, err := NewApprovalStack(awscdk.NewApp(nil), "AmiApproval", &props); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("NewApprovalStack(%+v) = %v, want an error saying %q", props, err, name)
		}
	}
}

// imageBuilderTopicPublishers returns the principals the Image Builder
// topic's OnlyImageBuilderPublishes statement admits, with the parameters
// given and the others at their defaults.
func imageBuilderTopicPublishers(t *testing.T, tmpl map[string]any, params map[string]any) []string {
	t.Helper()
	r := newResolver(tmpl)
	maps.Copy(r.params, params)
	for _, res := range tmpl["Resources"].(map[string]any) {
		if dig(res, "Type") != "AWS::SNS::TopicPolicy" || canonical(dig(res, "Properties", "Topics")) != canonical([]any{map[string]any{"Ref": imageBuilderTopicID}}) {
			continue
		}
		statements, _ := dig(res, "Properties", "PolicyDocument", "Statement").([]any)
		for _, s := range statements {
			if dig(s, "Sid") == "OnlyImageBuilderPublishes" {
				return asStrings(dig(r.resolve(dig(s, "Condition")), "ArnNotEquals", "aws:PrincipalArn"))
			}
		}
	}
	t.Fatalf("no OnlyImageBuilderPublishes statement on %s's policy", imageBuilderTopicID)
	return nil
}

// TestApprovalImageBuilderTopicPublishers: the Image Builder topic takes
// messages from Image Builder's service-linked role and from the execution
// roles of pipelines with workflows (which publish as that role): the
// example pipeline's when it is made, and those of
// AmiApprovalPipelineExecutionRoleArns. The CDK stack and the SAM template
// agree in every case.
func TestApprovalImageBuilderTopicPublishers(t *testing.T) {
	const (
		slr  = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/aws-service-role/imagebuilder.amazonaws.com/AWSServiceRoleForImageBuilder"
		exec = "${" + approvalExampleExecutionRoleID + ".Arn}"
		a    = "arn:aws:iam::111122223333:role/pipelines/a"
		b    = "arn:aws:iam::111122223333:role/b"
	)
	templates := map[string]map[string]any{
		"CDK": *defaultApproval(t).ToJSON(),
		"SAM": readSAMTemplate(t, samCapabilityTemplates["AmiApproval"]),
	}
	tests := []struct {
		name   string
		params map[string]any
		want   []string
	}{
		{"defaults", nil, []string{slr}},
		{"example pipeline", map[string]any{"AmiApprovalExamplePipeline": "true"}, []string{slr, exec}},
		{"roles given", map[string]any{approvalExecutionRolesParam: a + "," + b}, []string{slr, a, b}},
		{"both", map[string]any{"AmiApprovalExamplePipeline": "true", approvalExecutionRolesParam: a}, []string{slr, exec, a}},
	}
	for name, tmpl := range templates {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				if diff := cmp.Diff(tt.want, imageBuilderTopicPublishers(t, tmpl, tt.params)); diff != "" {
					t.Errorf("publishers (-want +got):\n%s", diff)
				}
			})
		}
		t.Run(name+"/parameter", func(t *testing.T) {
			p, _ := dig(tmpl, "Parameters", approvalExecutionRolesParam).(map[string]any)
			if p["Type"] != "String" || p["Default"] != "" {
				t.Fatalf("parameter %s = %v, want a String defaulting to \"\"", approvalExecutionRolesParam, p)
			}
			pattern := regexp.MustCompile(fmt.Sprint(p["AllowedPattern"]))
			for v, ok := range map[string]bool{"": true, a: true, a + "," + b: true, "arn:aws-us-gov:iam::111122223333:role/x": true,
				a + ",": false, "arn:aws:iam::111122223333:user/u": false, "role/b": false, a + " ," + b: false} {
				if got := pattern.MatchString(v); got != ok {
					t.Errorf("AllowedPattern matches %q = %v, want %v", v, got, ok)
				}
			}
		})
	}
}

// TestApprovalProofKey: the records' seal is an HMAC_256 key, kept, that
// the account administers but only the three functions' roles use; no
// statement lets anyone else make or check a MAC, or grant that (the
// CDK stack and infra/sam/ami-approval.yaml alike).
func TestApprovalProofKey(t *testing.T) {
	tmpl := defaultApproval(t)
	sam := readSAMTemplate(t, samCapabilityTemplates["AmiApproval"])
	for name, key := range map[string]any{
		"CDK": (*tmpl.ToJSON())["Resources"].(map[string]any)[approvalProofKeyID],
		"SAM": sam["Resources"].(map[string]any)[approvalProofKeyID],
	} {
		t.Run(name, func(t *testing.T) {
			props := dig(key, "Properties").(map[string]any)
			if props["KeySpec"] != "HMAC_256" || props["KeyUsage"] != "GENERATE_VERIFY_MAC" || dig(key, "DeletionPolicy") != "Retain" {
				t.Errorf("proof key = %v, want a retained HMAC_256 GENERATE_VERIFY_MAC key", canonical(key))
			}
			var users []string
			for _, s := range dig(props, "KeyPolicy", "Statement").([]any) {
				actions := asStrings(dig(s, "Action"))
				for _, a := range actions {
					if a == "kms:*" || a == "kms:Create*" || a == "kms:CreateGrant" {
						t.Errorf("statement %v allows %s: it would let an IAM policy use the key", dig(s, "Sid"), a)
					}
				}
				if slices.Contains(actions, "kms:GenerateMac") || slices.Contains(actions, "kms:VerifyMac") {
					for _, p := range dig(s, "Principal", "AWS").([]any) {
						users = append(users, canonical(p))
					}
				}
			}
			roles := []string{"AmiApprovalRequestRole", "AmiApprovalLinkRole", "AmiApprovalSweeperRole"}
			if name == "CDK" {
				roles = []string{approvalRole(t, tmpl, AmiApprovalRequest), approvalRole(t, tmpl, AmiApprovalLink), approvalRole(t, tmpl, AmiApprovalSweeper)}
			}
			want := []string{}
			for _, role := range roles {
				want = append(want, canonical(map[string]any{"Fn::GetAtt": []any{role, "Arn"}}))
			}
			slices.Sort(want)
			slices.Sort(users)
			if diff := cmp.Diff(want, users); diff != "" {
				t.Errorf("who may make and check MACs (-want +got):\n%s", diff)
			}
			if len(users) != 3 {
				t.Errorf("who may make and check MACs = %v, want the three functions' roles", users)
			}
		})
	}
}

// TestApprovalWarnsOfAQuorumWithoutSignIn: with APPROVAL_QUORUM above 1, or
// any stricter quorum, the stack's outputs warn that links alone cannot
// prove distinct people (the page has no sign-in).
func TestApprovalWarnsOfAQuorumWithoutSignIn(t *testing.T) {
	tmpl := defaultApproval(t)
	notEmpty := func(p string) map[string]any {
		return map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": p}, ""}}}}
	}
	check(t, func() {
		tmpl.HasCondition(jsii.String("AmiApprovalQuorumWithoutSignIn"), map[string]any{"Fn::Or": []any{
			map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AmiApprovalQuorum"}, "1"}}}},
			notEmpty("AmiApprovalQuorumOrganizations"), notEmpty("AmiApprovalQuorumAccounts"),
		}})
	})
	check(t, func() {
		tmpl.HasOutput(jsii.String("QuorumWithoutSignIn"), map[string]any{
			"Condition": "AmiApprovalQuorumWithoutSignIn",
			"Value":     assertions.Match_StringLikeRegexp(jsii.String("links alone cannot prove distinct people")),
		})
	})
}
