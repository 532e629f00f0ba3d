package stacks

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

func synthDiskAlarm(t *testing.T, props DiskAlarmStackProps) assertions.Template {
	t.Helper()
	if props.AssetDir == "" {
		props.AssetDir = assetDir
	}
	return synth(t, NewDiskAlarmStack, "DiskAlarm", &props)
}

var diskAlarmDefault onceTemplate

// defaultDiskAlarm synthesizes the stack with default props, once.
func defaultDiskAlarm(t *testing.T) assertions.Template {
	t.Helper()
	return diskAlarmDefault.get(t, func() (awscdk.Stack, error) {
		return NewDiskAlarmStack(awscdk.NewApp(nil), "DiskAlarm", &DiskAlarmStackProps{AssetDir: assetDir})
	})
}

func TestDiskAlarmResourceCounts(t *testing.T) {
	tmpl := defaultDiskAlarm(t)
	checkResourceCounts(t, tmpl, map[string]int{
		"AWS::Lambda::Function":           1,
		"AWS::Lambda::EventInvokeConfig":  1,
		"AWS::Lambda::EventSourceMapping": 1,
		"AWS::Events::Rule":               2,
		"AWS::SQS::Queue":                 3, // on-failure, continuations, their dead letters
		"AWS::SNS::Topic":                 2, // the alarms' and the operational alarms' (observability.go)
		"AWS::Logs::LogGroup":             1,
	})
}

func TestDiskAlarmFunction(t *testing.T) {
	tmpl := defaultDiskAlarm(t)
	env := map[string]any{
		"SNS_TOPIC_ARN":         map[string]any{"Ref": "EbsAlarmsTopic"},
		"INSTANCE_NAME_PATTERN": "",
		"ALARM_TAG":             "disk-alarms=enabled",
		"ALARM_PREFIX":          "lambda-suite/disk-space/",
		"METRIC_NAMESPACE":      "CWAgent",
		"DISK_THRESHOLDS":       "",
		"TREAT_MISSING_DATA":    "missing",
		"WRITE_RATE":            "3",
		"RECENT_METRICS_ONLY":   "true",
		"SIZE_REFRESH":          "24h0m0s",
		"FULL_PASS":             "24h0m0s",
		"QUOTA_SHARE":           "0.25",
		"FILL_WITHIN":           "",
		"RESUME_QUEUE_URL":      map[string]any{"Ref": "EbsAlarmsResumeQueue"},
		"PROOF_KEY_ARN":         map[string]any{"Fn::GetAtt": []any{"EbsAlarmsProofKey", "Arn"}},
		"AWS_RETRY_MODE":        "adaptive",
		"AWS_MAX_ATTEMPTS":      "10",
	}
	check(t, func() {
		tmpl.HasResource(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Metadata": map[string]any{FunctionMetadataKey: EbsAlarms},
			"Properties": map[string]any{
				"Runtime":       "provided.al2023",
				"Architectures": []any{"arm64"},
				"Handler":       "bootstrap",
				"MemorySize":    1024,
				"Timeout":       900,
				"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": map[string]any{"Ref": "EbsAlarmsLogGroup"}},
				"Environment":   map[string]any{"Variables": assertions.Match_ObjectEquals(&env)},
			},
		})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"FunctionName":         map[string]any{"Ref": functionID(t, tmpl, EbsAlarms)},
			"MaximumRetryAttempts": 2,
			"DestinationConfig": map[string]any{"OnFailure": map[string]any{
				"Destination": map[string]any{"Fn::GetAtt": []any{"EbsAlarmsOnFailureQueue", "Arn"}},
			}},
		})
	})
}

func TestDiskAlarmTriggers(t *testing.T) {
	tmpl := defaultDiskAlarm(t)
	fn := functionID(t, tmpl, EbsAlarms)
	target := []any{map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{fn, "Arn"}}}}
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
				"source":      []any{"aws.ec2"},
				"detail-type": []any{"EC2 Instance State-change Notification"},
				"detail":      map[string]any{"state": []any{"running", "terminated"}},
			}),
			"Targets": target,
		})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(15 minutes)", "Targets": target,
		})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"FunctionName":          map[string]any{"Ref": fn},
			"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{"EbsAlarmsResumeQueue", "Arn"}},
			"BatchSize":             1,
			"ScalingConfig":         map[string]any{"MaximumConcurrency": 2},
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
		})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
			"VisibilityTimeout": 5400,
			"RedrivePolicy": map[string]any{
				"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{"EbsAlarmsResumeDeadLetterQueue", "Arn"}},
				"maxReceiveCount":     3,
			},
		})
	})
}

// TestDiskAlarmScopedStatements pins least privilege: writes only to the
// alarms under the prefix, reads (which have no resource-level permissions)
// on "*", the continuation queue only.
func TestDiskAlarmScopedStatements(t *testing.T) {
	tests := []struct {
		name   string
		props  DiskAlarmStackProps
		prefix string
	}{
		{"default prefix", DiskAlarmStackProps{}, "lambda-suite/disk-space/"},
		{"custom prefix", DiskAlarmStackProps{AlarmPrefix: "ops/disks/"}, "ops/disks/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := defaultDiskAlarm(t)
			if tt.props != (DiskAlarmStackProps{}) {
				tmpl = synthDiskAlarm(t, tt.props)
			}
			hasStatement(t, tmpl, EbsAlarms, map[string]any{
				"Action":   []any{"cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource"},
				"Resource": cfnARN("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:" + tt.prefix + "*"),
			})
			hasStatement(t, tmpl, EbsAlarms, map[string]any{
				"Action":   []any{"ec2:DescribeInstances", "cloudwatch:ListMetrics", "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"},
				"Resource": "*",
			})
			hasStatement(t, tmpl, EbsAlarms, map[string]any{
				"Action":   []any{"sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"},
				"Resource": map[string]any{"Fn::GetAtt": []any{"EbsAlarmsResumeQueue", "Arn"}},
			})
			hasStatement(t, tmpl, EbsAlarms, map[string]any{
				"Action":   []any{"sqs:TagQueue", "sqs:ListQueueTags"},
				"Resource": map[string]any{"Fn::GetAtt": []any{"EbsAlarmsResumeQueue", "Arn"}},
			})
		})
	}
}

// TestDiskAlarmTopicAcceptsAlarms pins the topic policy: EnforceSSL's Deny
// replaces SNS's default policy, so CloudWatch needs its own Allow, scoped
// to this account's alarms under the prefix.
func TestDiskAlarmTopicAcceptsAlarms(t *testing.T) {
	tests := []struct {
		name   string
		props  DiskAlarmStackProps
		prefix string
	}{
		{"default prefix", DiskAlarmStackProps{}, "lambda-suite/disk-space/"},
		{"custom prefix", DiskAlarmStackProps{AlarmPrefix: "ops/disks/"}, "ops/disks/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl := defaultDiskAlarm(t)
			if tt.props != (DiskAlarmStackProps{}) {
				tmpl = synthDiskAlarm(t, tt.props)
			}
			// The alarms' topic's policy and the operational topic's.
			check(t, func() { tmpl.ResourceCountIs(jsii.String("AWS::SNS::TopicPolicy"), jsii.Number(2)) })
			check(t, func() {
				tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
					"Topics": []any{map[string]any{"Ref": "EbsAlarmsTopic"}},
					"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
						assertions.Match_ObjectEquals(&map[string]any{
							"Sid":       "AllowSuiteAlarms",
							"Effect":    "Allow",
							"Principal": map[string]any{"Service": "cloudwatch.amazonaws.com"},
							"Action":    "sns:Publish",
							"Resource":  map[string]any{"Ref": "EbsAlarmsTopic"},
							"Condition": map[string]any{
								"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}},
								"ArnLike":      map[string]any{"aws:SourceArn": cfnARN("arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:" + tt.prefix + "*")},
							},
						}),
					})},
				})
			})
		})
	}
}

func TestDiskAlarmNoWriteOnAnyResource(t *testing.T) {
	tmpl := defaultDiskAlarm(t)
	reads := []string{"ec2:Describe", "cloudwatch:Describe", "cloudwatch:List", "cloudwatch:Get"}
	for id, policy := range resources(tmpl, "AWS::IAM::Policy") {
		doc := policy["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			s := s.(map[string]any)
			if !slices.Contains(asStrings(s["Resource"]), "*") {
				continue
			}
			for _, action := range asStrings(s["Action"]) {
				if !slices.ContainsFunc(reads, func(p string) bool { return strings.HasPrefix(action, p) }) {
					t.Errorf("%s: %s allowed on Resource \"*\"", id, action)
				}
			}
		}
	}
}

func TestDiskAlarmExistingTopic(t *testing.T) {
	const topic = "arn:aws:sns:eu-west-1:123456789012:ops-pager"
	tmpl := synthDiskAlarm(t, DiskAlarmStackProps{TopicARN: topic, InstanceNamePattern: "Windows*"})
	// Only the operational alarms' topic (observability.go).
	check(t, func() { tmpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(1)) })
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": map[string]any{
				"SNS_TOPIC_ARN": topic, "INSTANCE_NAME_PATTERN": "Windows*", "ALARM_TAG": "",
			}},
		})
	})
}

func TestDiskAlarmStatefulLogicalIDs(t *testing.T) {
	tmpl := defaultDiskAlarm(t)
	tests := []struct {
		typ  string
		want []string
	}{
		{"AWS::Logs::LogGroup", []string{"EbsAlarmsLogGroup"}},
		{"AWS::SQS::Queue", []string{"EbsAlarmsOnFailureQueue", "EbsAlarmsResumeDeadLetterQueue", "EbsAlarmsResumeQueue"}},
		{"AWS::SNS::Topic", []string{"EbsAlarmsTopic", "OpsTopic"}},
		// A new key would leave the continuations in flight unverifiable.
		{"AWS::KMS::Key", []string{"EbsAlarmsProofKey", "OpsTopicKey"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			var got []string
			for id := range resources(tmpl, tt.typ) {
				got = append(got, id)
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("logical IDs of %s (-want +got):\n%s", tt.typ, diff)
			}
		})
	}
}

func TestDiskAlarmProps(t *testing.T) {
	tests := []struct {
		name    string
		props   DiskAlarmStackProps
		wantErr string
	}{
		{"no binary", DiskAlarmStackProps{AssetDir: t.TempDir()}, "make build"},
		{"topic not an ARN", DiskAlarmStackProps{TopicARN: "ops-pager"}, "not an SNS topic ARN"},
		{"wildcard prefix", DiskAlarmStackProps{AlarmPrefix: "alarms/*"}, "wildcards"},
		{"dollar in prefix", DiskAlarmStackProps{AlarmPrefix: "${x}/"}, "$ is not allowed"},
		{"bad thresholds", DiskAlarmStackProps{Thresholds: `{"linux": {"warningUsedPercent": 95, "criticalUsedPercent": 90}}`}, "thresholds"},
		{"bad tag", DiskAlarmStackProps{AlarmTag: "enabled"}, "not key=value"},
		{"bad missing data", DiskAlarmStackProps{TreatMissingData: "zero"}, "treat missing data"},
		{"bad rate", DiskAlarmStackProps{WriteRate: "fast"}, "write rate"},
		{"bad schedule", DiskAlarmStackProps{Schedule: "every 15 minutes"}, "schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.props.AssetDir == "" {
				tt.props.AssetDir = assetDir
			}
			_, err := NewDiskAlarmStack(awscdk.NewApp(nil), "DiskAlarm", &tt.props)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewDiskAlarmStack(%s) = %v, want an error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

// TestDiskAlarmContinuationsTrustOnlyTheRole pins issue 18's finding 7: the
// continuation queue denies SendMessage to every principal but the
// function's role; the HMAC key that seals continuations lets only that
// role make or check a MAC; a message it did not seal alarms the
// operational topic.
func TestDiskAlarmContinuationsTrustOnlyTheRole(t *testing.T) {
	tmpl := defaultDiskAlarm(t)
	fn := resources(tmpl, "AWS::Lambda::Function")[functionID(t, tmpl, EbsAlarms)]
	role := map[string]any{"Fn::GetAtt": []any{fn["Properties"].(map[string]any)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0], "Arn"}}
	notRole := map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": role}}
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SQS::QueuePolicy"), map[string]any{
			"Queues": []any{map[string]any{"Ref": "EbsAlarmsResumeQueue"}},
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectEquals(&map[string]any{
					"Sid": "OnlyEbsAlarmsSends", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
					"Action": "sqs:SendMessage", "Resource": map[string]any{"Fn::GetAtt": []any{"EbsAlarmsResumeQueue", "Arn"}},
					"Condition": notRole,
				}),
			})},
		})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{
			"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC",
			"KeyPolicy": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectEquals(&map[string]any{
					"Sid": "EbsAlarmsSeals", "Effect": "Allow", "Principal": map[string]any{"AWS": role},
					"Action": []any{"kms:GenerateMac", "kms:VerifyMac"}, "Resource": "*",
				}),
				assertions.Match_ObjectEquals(&map[string]any{
					"Sid": "NobodyElseSeals", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
					"Action": []any{"kms:GenerateMac", "kms:VerifyMac"}, "Resource": "*", "Condition": notRole,
				}),
			})},
		})
	})
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"Namespace": MetricsNamespace, "MetricName": "ContinuationsTampered",
			"Dimensions": []any{map[string]any{"Name": "FunctionName", "Value": map[string]any{"Ref": functionID(t, tmpl, EbsAlarms)}}},
		})
	})
	// The account's statement administers the key but grants no MAC.
	key := resources(tmpl, "AWS::KMS::Key")["EbsAlarmsProofKey"]
	if key == nil {
		t.Fatal("no KMS key EbsAlarmsProofKey")
	}
	{
		for _, st := range dig(key, "Properties", "KeyPolicy", "Statement").([]any) {
			if m := st.(map[string]any); m["Sid"] == "AccountAdministers" {
				for _, a := range m["Action"].([]any) {
					if a == "kms:*" || a == "kms:GenerateMac" || a == "kms:VerifyMac" {
						t.Errorf("the account may %s with the proof key", a)
					}
				}
			}
		}
	}
}
