package stacks

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

func synthHealthGate(t *testing.T, props HealthGateStackProps) assertions.Template {
	t.Helper()
	if props.AssetDir == "" {
		props.AssetDir = assetDir
	}
	return synth(t, NewHealthGateStack, "PipelineHealth", &props)
}

var healthGateDefault, healthGateExample onceTemplate

// defaultHealthGate is the stack as infra/main.go makes it by default:
// without the example pipeline, retrying the pipeline of the example's name
// (SAM's HealthGatePipelines default).
func defaultHealthGate(t *testing.T) assertions.Template {
	t.Helper()
	return healthGateDefault.get(t, func() (awscdk.Stack, error) {
		return NewHealthGateStack(awscdk.NewApp(nil), "PipelineHealth", &HealthGateStackProps{AssetDir: assetDir, Pipelines: []string{DefaultExamplePipelineName}})
	})
}

// exampleHealthGate is the stack with the example pipeline
// (-c healthGateExamplePipeline=true).
func exampleHealthGate(t *testing.T) assertions.Template {
	t.Helper()
	return healthGateExample.get(t, func() (awscdk.Stack, error) {
		return NewHealthGateStack(awscdk.NewApp(nil), "PipelineHealth", &HealthGateStackProps{AssetDir: assetDir, ExamplePipeline: true})
	})
}

func TestHealthGateResourceCounts(t *testing.T) {
	counts := map[string]int{
		"AWS::Lambda::Function":          2,
		"AWS::Lambda::EventInvokeConfig": 2,
		"AWS::Events::Rule":              2,
		"AWS::Scheduler::ScheduleGroup":  1,
		"AWS::CodePipeline::Pipeline":    0,
		"AWS::S3::Bucket":                0,
		"AWS::SQS::Queue":                2,
		"AWS::Logs::LogGroup":            2,
	}
	t.Run("default", func(t *testing.T) { checkResourceCounts(t, defaultHealthGate(t), counts) })
	counts["AWS::CodePipeline::Pipeline"], counts["AWS::S3::Bucket"] = 1, 3
	t.Run("example pipeline", func(t *testing.T) { checkResourceCounts(t, exampleHealthGate(t), counts) })
}

func TestHealthGateFunctions(t *testing.T) {
	tmpl := defaultHealthGate(t)
	tests := []struct {
		name string
		env  map[string]any
	}{
		{PipelineHealthGate, map[string]any{"ORGANIZATION_VIEW": "false", "NOTIFY_TOPIC_ARN": map[string]any{"Ref": "HealthGateNotifyTopic"}}},
		{PipelineStageRetry, map[string]any{
			"PIPELINES": "health-gate-example", "RETRY_ANY_FAILURE": "false", "MAX_RETRY_WINDOW": "6h",
			"RECHECK_DELAY": "2m", "RECHECK_MAX_DELAY": "15m", "ORGANIZATION_VIEW": "false",
			"SCHEDULE_GROUP":     map[string]any{"Ref": "PipelineStageRetryScheduleGroup"},
			"SCHEDULER_ROLE_ARN": map[string]any{"Fn::GetAtt": []any{"PipelineStageRetrySchedulerRole", "Arn"}},
			"NOTIFY_TOPIC_ARN":   map[string]any{"Ref": "HealthGateNotifyTopic"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := functionID(t, tmpl, tt.name)
			check(t, func() {
				tmpl.HasResource(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Metadata": map[string]any{FunctionMetadataKey: tt.name},
					"Properties": map[string]any{
						"Runtime": "provided.al2023", "Architectures": []any{"arm64"}, "Handler": "bootstrap", "Timeout": 60,
						"LoggingConfig": map[string]any{"LogFormat": "JSON", "LogGroup": map[string]any{"Ref": logicalIDPrefix(tt.name) + "LogGroup"}},
						"Environment":   map[string]any{"Variables": assertions.Match_ObjectEquals(&tt.env)},
					},
				})
			})
			check(t, func() {
				tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
					"FunctionName":      map[string]any{"Ref": id},
					"DestinationConfig": map[string]any{"OnFailure": map[string]any{"Destination": map[string]any{"Fn::GetAtt": []any{logicalIDPrefix(tt.name) + "OnFailureQueue", "Arn"}}}},
				})
			})
		})
	}
}

func TestHealthGatePermissions(t *testing.T) {
	tmpl := defaultHealthGate(t)
	sub := cfnARN
	tests := []struct {
		name      string
		function  string
		statement map[string]any
	}{
		{"gate reads AWS Health", PipelineHealthGate, map[string]any{"Action": "health:DescribeEvents", "Resource": "*"}},
		{"gate answers jobs, which have no ARN", PipelineHealthGate, map[string]any{
			"Action": []any{"codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"}, "Resource": "*"}},
		{"retry reads AWS Health", PipelineStageRetry, map[string]any{"Action": "health:DescribeEvents", "Resource": "*"}},
		{"retry reads only the opted-in pipelines", PipelineStageRetry, map[string]any{
			"Sid":      "ReadOptedInPipelines",
			"Action":   []any{"codepipeline:GetPipeline", "codepipeline:GetPipelineState"},
			"Resource": sub("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:health-gate-example")}},
		// RetryStageExecution's resource type is the stage:
		// arn:…:codepipeline:<Region>:<account>:<pipeline>/<stage>.
		{"retry retries only the opted-in pipelines' stages", PipelineStageRetry, map[string]any{
			"Sid":      "RetryOptedInPipelines",
			"Action":   "codepipeline:RetryStageExecution",
			"Resource": sub("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:health-gate-example/*")}},
		{"retry schedules and reads schedules in its group only", PipelineStageRetry, map[string]any{
			"Action": []any{"scheduler:CreateSchedule", "scheduler:GetSchedule"}, "Resource": sub("arn:${AWS::Partition}:scheduler:${AWS::Region}:${AWS::AccountId}:schedule/${PipelineStageRetryScheduleGroup}/*")}},
		{"retry passes the scheduler role to the scheduler only", PipelineStageRetry, map[string]any{
			"Action": "iam:PassRole", "Resource": map[string]any{"Fn::GetAtt": []any{"PipelineStageRetrySchedulerRole", "Arn"}},
			"Condition": map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "scheduler.amazonaws.com"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { hasStatement(t, tmpl, tt.function, tt.statement) })
	}

	t.Run("nothing else on any resource", func(t *testing.T) {
		// scheduler:ListSchedules has no resource type (the group is a
		// request parameter).
		allowedOnAny := []string{"health:DescribeEvents", "codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult", "lambda:ListFunctions", "scheduler:ListSchedules"}
		for id, policy := range resources(tmpl, "AWS::IAM::Policy") {
			for _, s := range dig(policy, "Properties", "PolicyDocument", "Statement").([]any) {
				if !slices.Contains(asStrings(dig(s, "Resource")), "*") {
					continue
				}
				for _, action := range asStrings(dig(s, "Action")) {
					if !slices.Contains(allowedOnAny, action) {
						t.Errorf("policy %s allows %s on *", id, action)
					}
				}
			}
		}
	})
	t.Run("scheduler role invokes only the retry function", func(t *testing.T) {
		retry := functionID(t, tmpl, PipelineStageRetry)
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), map[string]any{
				"AssumeRolePolicyDocument": map[string]any{"Statement": []any{map[string]any{
					"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": map[string]any{"Service": "scheduler.amazonaws.com"},
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": map[string]any{"Ref": "AWS::AccountId"}}},
				}}},
			})
		})
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
				"Roles": []any{map[string]any{"Ref": "PipelineStageRetrySchedulerRole"}},
				"PolicyDocument": map[string]any{"Statement": []any{map[string]any{
					"Sid": "InvokeStageRetry", "Action": "lambda:InvokeFunction", "Effect": "Allow",
					"Resource": []any{
						map[string]any{"Fn::GetAtt": []any{retry, "Arn"}},
						map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Fn::GetAtt": []any{retry, "Arn"}}, ":*"}}},
					},
				}}},
			})
		})
	})
	t.Run("no organization view unless asked", func(t *testing.T) {
		doc, _ := json.Marshal(tmpl.ToJSON())
		if strings.Contains(string(doc), "DescribeEventsForOrganization") {
			t.Errorf("template allows health:DescribeEventsForOrganization without OrganizationView")
		}
	})
}

func TestHealthGateStageFailedRule(t *testing.T) {
	tmpl := defaultHealthGate(t)
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
				"source":      []any{"aws.codepipeline"},
				"detail-type": []any{"CodePipeline Stage Execution State Change"},
				"detail":      map[string]any{"state": []any{"FAILED"}, "pipeline": []any{"health-gate-example"}},
			}),
			"Targets": []any{map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{functionID(t, tmpl, PipelineStageRetry), "Arn"}}}},
		})
	})
}

func TestHealthGateAllClearRule(t *testing.T) {
	tmpl := defaultHealthGate(t)
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
				"source":      []any{"aws.health"},
				"detail-type": []any{"AWS Health Event"},
				"detail":      map[string]any{"statusCode": []any{"closed"}},
			}),
			"Targets": []any{map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{functionID(t, tmpl, PipelineStageRetry), "Arn"}}}},
		})
	})
}

func TestHealthGateExamplePipeline(t *testing.T) {
	tmpl := exampleHealthGate(t)
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::CodePipeline::Pipeline"), map[string]any{
			"Name":         "health-gate-example",
			"PipelineType": "V2",
			"Stages": []any{
				assertions.Match_ObjectLike(&map[string]any{"Name": "Source"}),
				assertions.Match_ObjectLike(&map[string]any{"Name": "HealthGate", "Actions": []any{assertions.Match_ObjectLike(&map[string]any{
					"Name":         "CheckAWSHealth",
					"ActionTypeId": map[string]any{"Category": "Invoke", "Owner": "AWS", "Provider": "Lambda", "Version": "1"},
					"Configuration": map[string]any{
						"FunctionName":   map[string]any{"Ref": functionID(t, tmpl, PipelineHealthGate)},
						"UserParameters": DefaultExampleUserParameters,
					},
				})}}),
				assertions.Match_ObjectLike(&map[string]any{"Name": "Deploy"}),
			},
		})
	})
}

// TestHealthGateLogicalIDs pins the stateful resources' logical IDs: a
// change would replace them (and lose logs, failed events or buckets).
// Two copies of the stack in one account and Region (staging and production)
// must not clash: CloudFormation names the group, and the function and its
// policy follow the group by reference.
func TestHealthGateScheduleGroupIsNamedByCloudFormation(t *testing.T) {
	for id, res := range resources(defaultHealthGate(t), "AWS::Scheduler::ScheduleGroup") {
		props, _ := res["Properties"].(map[string]any)
		if name, ok := props["Name"]; ok {
			t.Errorf("%s has the fixed Name %v, want none: a second stack in the account would clash", id, name)
		}
	}
}

func TestHealthGateLogicalIDs(t *testing.T) {
	tmpl := exampleHealthGate(t)
	want := map[string][]string{
		"AWS::Logs::LogGroup":           {"PipelineHealthGateLogGroup", "PipelineStageRetryLogGroup"},
		"AWS::SQS::Queue":               {"PipelineHealthGateOnFailureQueue", "PipelineStageRetryOnFailureQueue"},
		"AWS::Scheduler::ScheduleGroup": {"PipelineStageRetryScheduleGroup"},
		"AWS::S3::Bucket":               {"HealthGateExampleArtifactBucket", "HealthGateExampleDeployBucket", "HealthGateExampleSourceBucket"},
	}
	for typ, ids := range want {
		got := slices.Sorted(maps.Keys(resources(tmpl, typ)))
		if diff := cmp.Diff(ids, got); diff != "" {
			t.Errorf("%s logical IDs (-want +got):\n%s", typ, diff)
		}
	}
}

func TestHealthGateProps(t *testing.T) {
	tmpl := synthHealthGate(t, HealthGateStackProps{Pipelines: []string{"payments", "web-app"}, OrganizationView: true, RetryAnyFailure: true})
	check(t, func() { tmpl.ResourceCountIs(jsii.String("AWS::CodePipeline::Pipeline"), jsii.Number(0)) })
	for _, fn := range HealthGateFunctions {
		hasStatement(t, tmpl, fn, map[string]any{"Action": []any{"health:DescribeEvents", "health:DescribeEventsForOrganization", "health:DescribeAffectedAccountsForOrganization", "organizations:ListAccounts"}, "Resource": "*"})
	}
	sub := func(name string) any {
		return cfnARN("arn:${AWS::Partition}:codepipeline:${AWS::Region}:${AWS::AccountId}:" + name)
	}
	hasStatement(t, tmpl, PipelineStageRetry, map[string]any{
		"Action":   []any{"codepipeline:GetPipeline", "codepipeline:GetPipelineState"},
		"Resource": []any{sub("payments"), sub("web-app")},
	})
	hasStatement(t, tmpl, PipelineStageRetry, map[string]any{
		"Action":   "codepipeline:RetryStageExecution",
		"Resource": []any{sub("payments/*"), sub("web-app/*")},
	})
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Environment": map[string]any{"Variables": map[string]any{"PIPELINES": "payments,web-app", "ORGANIZATION_VIEW": "true", "RETRY_ANY_FAILURE": "true"}},
		})
	})
}

func TestHealthGateInvalidProps(t *testing.T) {
	tests := []struct {
		name  string
		props HealthGateStackProps
		want  []string
	}{
		{"nothing to retry", HealthGateStackProps{}, []string{"no pipeline opted in"}},
		{"bad names and durations", HealthGateStackProps{Pipelines: []string{"my pipeline"}, MaxRetryWindow: "a day", RecheckDelay: "-1m"},
			[]string{`"my pipeline"`, "max retry window", "recheck delay"}},
		{"UserParameters the gate would refuse", HealthGateStackProps{ExamplePipeline: true, ExampleUserParameters: `{"mode":"later"}`},
			[]string{"example pipeline's UserParameters", "mode"}},
		{"window shorter than the function takes", HealthGateStackProps{Pipelines: []string{"a"}, MaxRetryWindow: "30s"},
			[]string{"max retry window", "from 1m0s"}},
		{"window longer than the function takes", HealthGateStackProps{Pipelines: []string{"a"}, MaxRetryWindow: "200h"},
			[]string{"max retry window", "to 168h0m0s"}},
		{"delay below a second", HealthGateStackProps{Pipelines: []string{"a"}, RecheckDelay: "500ms"},
			[]string{"recheck delay", "from 1s"}},
		{"delay over an hour", HealthGateStackProps{Pipelines: []string{"a"}, RecheckDelay: "2h", RecheckMaxDelay: "3h"},
			[]string{"recheck delay", "to 1h0m0s"}},
		{"max delay over 12 hours", HealthGateStackProps{Pipelines: []string{"a"}, RecheckMaxDelay: "13h"},
			[]string{"recheck max delay", "to 12h0m0s"}},
		{"max delay shorter than the delay", HealthGateStackProps{Pipelines: []string{"a"}, RecheckDelay: "10m", RecheckMaxDelay: "5m"},
			[]string{"recheck max delay 5m is shorter than recheck delay 10m"}},
		{"default max delay shorter than the delay", HealthGateStackProps{Pipelines: []string{"a"}, RecheckDelay: "30m"},
			[]string{"recheck max delay 15m is shorter than recheck delay 30m"}},
		{"log retention", HealthGateStackProps{Pipelines: []string{"a"}, LogRetentionDays: 2}, []string{"log retention 2 days"}},
		{"no binaries", HealthGateStackProps{Pipelines: []string{"a"}, AssetDir: t.TempDir()}, []string{"make build"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.props.AssetDir == "" {
				tt.props.AssetDir = assetDir
			}
			_, err := NewHealthGateStack(awscdk.NewApp(nil), "PipelineHealth", &tt.props)
			if err == nil {
				t.Fatalf("NewHealthGateStack = nil error, want one saying %v", tt.want)
			}
			for _, part := range tt.want {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
		})
	}
}
