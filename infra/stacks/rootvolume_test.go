package stacks

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

func TestRootVolumeResourceCounts(t *testing.T) {
	tmpl := defaultRootVolume(t)
	checkResourceCounts(t, tmpl, map[string]int{
		"AWS::Lambda::Function":          3,
		"AWS::Lambda::EventInvokeConfig": 3,
		"AWS::Events::Rule":              5, // createVolume, snapshot now, coverage, cleanup, replace
		"AWS::Events::EventBus":          1,
		"AWS::Events::EventBusPolicy":    1,
		"AWS::DynamoDB::Table":           1,
		"AWS::SQS::Queue":                3,
		"AWS::SQS::QueuePolicy":          3,
		"AWS::Logs::LogGroup":            3,
		"AWS::IAM::Role":                 3,
		"AWS::KMS::Key":                  2, // the record key, and the ops topic's
		"AWS::Rbin::Rule":                2, // snapshots and replaced volumes
	})
}

// TestRootVolumeRecycleBinRules: by default, tag-level rules keep the
// suite's snapshots for RecycleBinDays and the replaced volumes for 7 days;
// the cleanup is told the snapshots' days; NoRecycleBin makes none.
func TestRootVolumeRecycleBinRules(t *testing.T) {
	rule := func(typ, key, value string, days int) map[string]any {
		return map[string]any{
			"ResourceType":    typ,
			"ResourceTags":    []any{map[string]any{"ResourceTagKey": key, "ResourceTagValue": value}},
			"RetentionPeriod": map[string]any{"RetentionPeriodUnit": "DAYS", "RetentionPeriodValue": days},
		}
	}
	cleanupEnv := func(days string) map[string]any {
		return map[string]any{"Environment": map[string]any{"Variables": assertions.Match_ObjectLike(&map[string]any{"RECYCLE_BIN_DAYS": days})},
			"Description": assertions.Match_StringLikeRegexp(jsii.String("^Deletes root volumes"))}
	}
	t.Run("default", func(t *testing.T) {
		tmpl := defaultRootVolume(t)
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Rbin::Rule"), rule("EBS_SNAPSHOT", "replace-snapshot", "true", 7))
			tmpl.HasResourceProperties(jsii.String("AWS::Rbin::Rule"), rule("EBS_VOLUME", "delete-volume", "true", 7))
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), cleanupEnv("7"))
		})
		if _, ok := resources(tmpl, "AWS::Rbin::Rule")[RecycleBinSnapshotRuleID]; !ok {
			t.Errorf("no AWS::Rbin::Rule with the pinned logical ID %s", RecycleBinSnapshotRuleID)
		}
	})
	t.Run("30 days", func(t *testing.T) {
		tmpl := synthRootVolume(t, RootVolumeStackProps{RecycleBinDays: 30})
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Rbin::Rule"), rule("EBS_SNAPSHOT", "replace-snapshot", "true", 30))
			// Volumes: the most the Recycle Bin keeps them.
			tmpl.HasResourceProperties(jsii.String("AWS::Rbin::Rule"), rule("EBS_VOLUME", "delete-volume", "true", 7))
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), cleanupEnv("30"))
		})
	})
	t.Run("off", func(t *testing.T) {
		tmpl := synthRootVolume(t, RootVolumeStackProps{NoRecycleBin: true})
		check(t, func() {
			tmpl.ResourceCountIs(jsii.String("AWS::Rbin::Rule"), jsii.Number(0))
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), cleanupEnv("0"))
		})
	})
}

func TestRootVolumeFunctions(t *testing.T) {
	tmpl := defaultRootVolume(t)
	tests := []struct {
		name           string
		timeoutSeconds int
		env            map[string]any
		retries        int
	}{
		{
			name:           SnapshotOnVolumeCreate,
			timeoutSeconds: 120,
			env: map[string]any{"SNAPSHOT_TAG": "replace-snapshot=true", "ATTACH_WAIT": "60s",
				"REPLACEMENTS_TABLE": map[string]any{"Ref": ReplacementsTableID}, "PROOF_KEY_ARN": map[string]any{"Fn::GetAtt": []any{RecordKeyID, "Arn"}},
				"REPLACE_OPT_IN_TAG": "root-volume-replace=enabled", "COVERAGE_SCOPE": "opted-in",
				// The ops topic: the one created, or OpsTopicArn's (Fn::If).
				"OPS_TOPIC_ARN": assertions.Match_AnyValue()},
			retries: 2,
		},
		{
			name:           ReplaceRootVolume,
			timeoutSeconds: 60,
			env: map[string]any{"SNAPSHOT_TAG": "replace-snapshot=true", "DELETE_VOLUME_TAG": "delete-volume=true",
				"REPLACE_OPT_IN_TAG": "root-volume-replace=enabled", "REPLACEMENTS_TABLE": map[string]any{"Ref": ReplacementsTableID},
				"PROOF_KEY_ARN": map[string]any{"Fn::GetAtt": []any{RecordKeyID, "Arn"}}},
			retries: 2,
		},
		{
			name:           RootVolumeCleanup,
			timeoutSeconds: 900,
			env: map[string]any{
				"SNAPSHOT_TAG":                "replace-snapshot=true",
				"DELETE_VOLUME_TAG":           "delete-volume=true",
				"MIN_AGE":                     "1h",
				"DRY_RUN":                     "false",
				"RECLAIM_PRICES":              "",
				"RECYCLE_BIN_DAYS":            "7",
				"AWS_RETRY_MODE":              "adaptive",
				"AWS_MAX_ATTEMPTS":            "10",
				"RETAIN_REPLACED":             "24h",
				"RETAIN_ORPHANED":             "168h",
				"PROOF_KEY_ARN":               map[string]any{"Fn::GetAtt": []any{RecordKeyID, "Arn"}},
				"KEEP_TAG":                    "lambda-suite:keep=true",
				"REPLACEMENTS_TABLE":          map[string]any{"Ref": ReplacementsTableID},
				"ADOPT_EXTERNAL_REPLACEMENTS": "false",
				"NOTIFY_TOPIC_ARN":            map[string]any{"Ref": "RootVolumeNotifyTopic"},
			},
			retries: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := functionID(t, tmpl, tt.name)
			check(t, func() {
				tmpl.HasResource(jsii.String("AWS::Lambda::Function"), map[string]any{
					"Metadata": map[string]any{FunctionMetadataKey: tt.name},
					"Properties": map[string]any{
						"Runtime":       "provided.al2023",
						"Architectures": []any{"arm64"},
						"Handler":       "bootstrap",
						"MemorySize":    256,
						"Timeout":       tt.timeoutSeconds,
						"LoggingConfig": map[string]any{
							"LogFormat": "JSON",
							"LogGroup":  map[string]any{"Ref": logicalIDPrefix(tt.name) + "LogGroup"},
						},
						"Environment": map[string]any{"Variables": assertions.Match_ObjectEquals(&tt.env)},
					},
				})
			})
			check(t, func() {
				tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
					"FunctionName":         map[string]any{"Ref": id},
					"MaximumRetryAttempts": tt.retries,
					"DestinationConfig": map[string]any{"OnFailure": map[string]any{
						"Destination": map[string]any{"Fn::GetAtt": []any{logicalIDPrefix(tt.name) + "OnFailureQueue", "Arn"}},
					}},
				})
			})
		})
	}
}

func TestRootVolumeTriggers(t *testing.T) {
	tmpl := defaultRootVolume(t)
	tests := []struct {
		name    string
		trigger map[string]any
	}{
		{
			name: SnapshotOnVolumeCreate,
			trigger: map[string]any{"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
				"source":      []any{"aws.ec2"},
				"detail-type": []any{"EBS Volume Notification"},
				"detail":      map[string]any{"event": []any{"createVolume"}},
			})},
		},
		{
			name: ReplaceRootVolume,
			trigger: map[string]any{
				"EventBusName": map[string]any{"Ref": RootVolumeBusID},
				"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
					"source":      []any{"lambda-suite.root-volume"},
					"detail-type": []any{"Replace Root Volume Requested"},
				})},
		},
		{
			name: SnapshotOnVolumeCreate,
			trigger: map[string]any{
				"EventBusName": map[string]any{"Ref": RootVolumeBusID},
				"EventPattern": assertions.Match_ObjectEquals(&map[string]any{
					"source":      []any{"lambda-suite.root-volume"},
					"detail-type": []any{"Snapshot Root Volume Requested"},
				})},
		},
		{
			name:    RootVolumeCleanup,
			trigger: map[string]any{"ScheduleExpression": "rate(1 hour)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.trigger["Targets"] = []any{map[string]any{
				"Arn": map[string]any{"Fn::GetAtt": []any{functionID(t, tmpl, tt.name), "Arn"}},
			}}
			check(t, func() { tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), tt.trigger) })
		})
	}
}

func TestRootVolumeConditionedStatements(t *testing.T) {
	tmpl := defaultRootVolume(t)
	for _, tt := range conditionedStatements(
		Tag{Key: "replace-snapshot", Value: "true"},
		Tag{Key: "delete-volume", Value: "true"},
		Tag{Key: "root-volume-replace", Value: "enabled"},
	) {
		t.Run(tt.name, func(t *testing.T) {
			hasStatement(t, tmpl, tt.function, tt.statement)
		})
	}
}

// TestRootVolumeTagProps checks that the tag props reach both the conditions
// and the environment, and that the defaults are gone.
func TestRootVolumeTagProps(t *testing.T) {
	snapshotTag, deleteTag, optIn := Tag{Key: "backup-origin", Value: "rv"}, Tag{Key: "purge", Value: "yes"}, Tag{Key: "resettable", Value: "yes"}
	tmpl := synthRootVolume(t, RootVolumeStackProps{SnapshotTag: snapshotTag, DeleteVolumeTag: deleteTag, ReplaceOptInTag: optIn})

	for _, tt := range conditionedStatements(snapshotTag, deleteTag, optIn) {
		t.Run(tt.name, func(t *testing.T) {
			hasStatement(t, tmpl, tt.function, tt.statement)
		})
	}
	t.Run("environment", func(t *testing.T) {
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Environment": map[string]any{"Variables": map[string]any{
					"SNAPSHOT_TAG": "backup-origin=rv", "DELETE_VOLUME_TAG": "purge=yes", "REPLACE_OPT_IN_TAG": "resettable=yes",
				}},
			})
		})
	})
	t.Run("no default tag left", func(t *testing.T) {
		doc, err := json.Marshal(tmpl.ToJSON())
		if err != nil {
			t.Fatal(err)
		}
		for _, old := range []string{"replace-snapshot", "delete-volume", "root-volume-replace"} {
			if strings.Contains(string(doc), old) {
				t.Errorf("template still mentions %q after the tag props changed", old)
			}
		}
	})
}

type statementCase struct {
	name      string
	function  string
	statement map[string]any
}

// conditionedStatements are the statements that let the suite create or
// delete EC2 resources, each only under its tag condition.
func conditionedStatements(snapshotTag, deleteTag, optIn Tag) []statementCase {
	const (
		snapshots = "arn:${AWS::Partition}:ec2:${AWS::Region}::snapshot/*"
		volumes   = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"
		instances = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"
		tasks     = "arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:replace-root-volume-task/*"
	)
	sub := cfnARN
	return []statementCase{
		{
			name:     "CreateReplaceRootVolumeTask only on instances that opt in",
			function: ReplaceRootVolume,
			statement: map[string]any{
				"Action":    "ec2:CreateReplaceRootVolumeTask",
				"Resource":  sub(instances),
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + optIn.Key: optIn.Value}},
			},
		},
		{
			name:     "cleanup labels and unlabels volumes with the delete-volume key only",
			function: RootVolumeCleanup,
			statement: map[string]any{
				"Action":   []any{"ec2:CreateTags", "ec2:DeleteTags"},
				"Resource": sub(volumes),
				"Condition": map[string]any{
					"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{deleteTag.Key}},
					"Null":                      map[string]any{"aws:TagKeys": "false"},
				},
			},
		},
		{
			name:     "CreateSnapshot only with the snapshot tag in the request",
			function: SnapshotOnVolumeCreate,
			statement: map[string]any{
				"Action":    "ec2:CreateSnapshot",
				"Resource":  sub(snapshots),
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:RequestTag/" + snapshotTag.Key: snapshotTag.Value}},
			},
		},
		{
			name:     "CreateTags on snapshots only while creating them",
			function: SnapshotOnVolumeCreate,
			statement: map[string]any{
				"Action":    "ec2:CreateTags",
				"Resource":  sub(snapshots),
				"Condition": map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "CreateSnapshot"}},
			},
		},
		{
			name:     "CreateTags on volumes only the delete-volume tag",
			function: ReplaceRootVolume,
			statement: map[string]any{
				"Action":   "ec2:CreateTags",
				"Resource": sub(volumes),
				"Condition": map[string]any{
					"StringEquals":              map[string]any{"aws:RequestTag/" + deleteTag.Key: deleteTag.Value},
					"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []any{deleteTag.Key}},
				},
			},
		},
		{
			name:     "CreateTags on replace tasks only while creating them",
			function: ReplaceRootVolume,
			statement: map[string]any{
				"Action":    "ec2:CreateTags",
				"Resource":  sub(tasks),
				"Condition": map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": "CreateReplaceRootVolumeTask"}},
			},
		},
		{
			name:     "DeleteVolume only of volumes marked for deletion",
			function: RootVolumeCleanup,
			statement: map[string]any{
				"Action":    "ec2:DeleteVolume",
				"Resource":  sub(volumes),
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + deleteTag.Key: deleteTag.Value}},
			},
		},
		{
			name:     "DeleteSnapshot only of the suite's snapshots",
			function: RootVolumeCleanup,
			statement: map[string]any{
				"Action":    "ec2:DeleteSnapshot",
				"Resource":  sub(snapshots),
				"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + snapshotTag.Key: snapshotTag.Value}},
			},
		},
	}
}

// hasStatement checks that function's role has an Allow statement with
// exactly these action, resource and conditions.
func hasStatement(t *testing.T, tmpl assertions.Template, function string, statement map[string]any) {
	t.Helper()
	fn := resources(tmpl, "AWS::Lambda::Function")[functionID(t, tmpl, function)]
	role := fn["Properties"].(map[string]any)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0]

	want := map[string]any{"Effect": "Allow"}
	for k, v := range statement {
		want[k] = assertions.Match_Exact(v)
	}
	check(t, func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
			"Roles": []any{map[string]any{"Ref": role}},
			"PolicyDocument": map[string]any{
				"Statement": assertions.Match_ArrayWith(&[]any{assertions.Match_ObjectLike(&want)}),
			},
		})
	})
}

// TestRootVolumeNoMutatingActionOnAnyResource guards least privilege: "*" is
// for EC2 reads only, since every EC2 write the suite makes supports
// resource-level permissions.
func TestRootVolumeNoMutatingActionOnAnyResource(t *testing.T) {
	tmpl := defaultRootVolume(t)
	for id, policy := range resources(tmpl, "AWS::IAM::Policy") {
		doc := policy["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, s := range doc["Statement"].([]any) {
			s := s.(map[string]any)
			if !slices.Contains(asStrings(s["Resource"]), "*") {
				continue
			}
			for _, action := range asStrings(s["Action"]) {
				if !isEC2Read(action) {
					t.Errorf("%s: %s allowed on Resource \"*\"", id, action)
				}
			}
		}
	}
}

func isEC2Read(action string) bool {
	for _, prefix := range []string{"ec2:Describe", "ec2:Get", "ec2:List"} {
		if strings.HasPrefix(action, prefix) {
			return true
		}
	}
	return false
}

// asStrings reads an IAM field that may be one string or a list.
func asStrings(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, s := range v {
			if s, ok := s.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// TestRootVolumeStatefulLogicalIDs pins the logical IDs of the resources
// that hold data: a changed ID would replace them, losing logs and failed
// events.
func TestRootVolumeStatefulLogicalIDs(t *testing.T) {
	tmpl := defaultRootVolume(t)
	tests := []struct {
		typ  string
		want []string
	}{
		{"AWS::Logs::LogGroup", []string{"ReplaceRootVolumeLogGroup", "RootVolumeCleanupLogGroup", "SnapshotOnVolumeCreateLogGroup"}},
		{"AWS::SQS::Queue", []string{"ReplaceRootVolumeOnFailureQueue", "RootVolumeCleanupOnFailureQueue", "SnapshotOnVolumeCreateOnFailureQueue"}},
		{"AWS::DynamoDB::Table", []string{ReplacementsTableID}},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			var got []string
			for id, res := range resources(tmpl, tt.typ) {
				got = append(got, id)
				if res["DeletionPolicy"] != "Retain" {
					t.Errorf("%s: DeletionPolicy = %v, want Retain", id, res["DeletionPolicy"])
				}
			}
			slices.Sort(got)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("logical IDs of %s (-want +got):\n%s", tt.typ, diff)
			}
		})
	}
}

// TestRootVolumeReplacementsTable pins the table the cleanup trusts: key,
// TTL, point-in-time recovery, encryption, kept when the stack goes.
func TestRootVolumeReplacementsTable(t *testing.T) {
	checkRecordTable(t, defaultRootVolume(t))
}

// TestRootVolumeTableWritesOnlyBySuiteRoles: every statement that allows a
// write to the table belongs to one of the suite's three function roles.
func TestRootVolumeTableWritesOnlyBySuiteRoles(t *testing.T) {
	tmpl := defaultRootVolume(t)
	suiteRoles := map[string]bool{}
	for _, name := range RootVolumeFunctions {
		fn := resources(tmpl, "AWS::Lambda::Function")[functionID(t, tmpl, name)]
		suiteRoles[fn["Properties"].(map[string]any)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)] = true
	}
	table := map[string]any{"Fn::GetAtt": []any{ReplacementsTableID, "Arn"}}
	writers := map[string]bool{}
	for id, policy := range resources(tmpl, "AWS::IAM::Policy") {
		props := policy["Properties"].(map[string]any)
		for _, s := range props["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			s := s.(map[string]any)
			writes := slices.ContainsFunc(asStrings(s["Action"]), func(a string) bool {
				return strings.HasPrefix(a, "dynamodb:") && !slices.Contains([]string{"dynamodb:GetItem", "dynamodb:Scan", "dynamodb:Query"}, a)
			})
			if !writes || !cmp.Equal(s["Resource"], table) {
				continue
			}
			for _, r := range props["Roles"].([]any) {
				role := r.(map[string]any)["Ref"].(string)
				if !suiteRoles[role] {
					t.Errorf("%s lets %s write the replacements table", id, role)
				}
				writers[role] = true
			}
		}
	}
	if len(writers) != len(suiteRoles) {
		t.Errorf("roles that write the table = %v, want the three suite roles %v", writers, suiteRoles)
	}
	if _, ok := resources(tmpl, "AWS::DynamoDB::Table")[ReplacementsTableID]["Properties"].(map[string]any)["ResourcePolicy"]; ok {
		t.Errorf("the table has a resource policy; the design grants by identity policy only (README)")
	}
}

// TestRootVolumeBusPolicy (issue 18, finding 3): by default nobody may
// put events on the bus (a Deny without condition; no Allow), since within
// the account an Allow restricts nothing; named principals get an Allow,
// and the Deny spares only them.
func TestRootVolumeBusPolicy(t *testing.T) {
	bus := map[string]any{"Ref": RootVolumeBusID}
	busARN := map[string]any{"Fn::GetAtt": []any{RootVolumeBusID, "Arn"}}
	deny := func(condition map[string]any) map[string]any {
		stmt := map[string]any{"Sid": "DenyOtherPrincipals", "Effect": "Deny", "Principal": "*", "Action": "events:PutEvents", "Resource": busARN}
		if condition != nil {
			stmt["Condition"] = condition
		}
		return map[string]any{"EventBusName": bus, "StatementId": "DenyOtherPrincipals", "Statement": stmt}
	}
	t.Run("default: nobody", func(t *testing.T) {
		tmpl := defaultRootVolume(t)
		check(t, func() {
			tmpl.ResourceCountIs(jsii.String("AWS::Events::EventBusPolicy"), jsii.Number(1))
			tmpl.HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), assertions.Match_ObjectEquals(&map[string]any{
				"EventBusName": bus, "StatementId": "DenyOtherPrincipals", "Statement": deny(nil)["Statement"]}))
		})
	})
	t.Run("given principals only", func(t *testing.T) {
		given := []string{"111122223333", "arn:aws:iam::444455556666:role/ops"}
		tmpl := synthRootVolume(t, RootVolumeStackProps{BusPrincipals: given})
		names := []any{given[0], given[1]}
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), assertions.Match_ObjectEquals(&map[string]any{
				"EventBusName": bus, "StatementId": "PutSuiteEvents", "Statement": map[string]any{
					"Sid": "PutSuiteEvents", "Effect": "Allow", "Action": "events:PutEvents",
					"Principal": map[string]any{"AWS": names}, "Resource": busARN,
				}}))
			tmpl.HasResourceProperties(jsii.String("AWS::Events::EventBusPolicy"), assertions.Match_ObjectEquals(&map[string]any{
				"EventBusName": bus, "StatementId": "DenyOtherPrincipals", "Statement": deny(map[string]any{
					"StringNotLike":   map[string]any{"aws:PrincipalArn": names},
					"StringNotEquals": map[string]any{"aws:PrincipalAccount": names},
				})["Statement"]}))
		})
	})
}

// TestRootVolumeRecordKey: the records' key is an HMAC_256 key, kept on
// stack deletion, whose policy lets the three roles (and only them) make
// MACs, the two readers check them, and the account's administrators
// manage it without using it.
func TestRootVolumeRecordKey(t *testing.T) {
	tmpl := defaultRootVolume(t)
	key := resources(tmpl, "AWS::KMS::Key")[RecordKeyID]
	if key == nil {
		t.Fatalf("no AWS::KMS::Key %s", RecordKeyID)
	}
	if key["DeletionPolicy"] != "Retain" {
		t.Errorf("DeletionPolicy = %v, want Retain", key["DeletionPolicy"])
	}
	props := key["Properties"].(map[string]any)
	if props["KeySpec"] != "HMAC_256" || props["KeyUsage"] != "GENERATE_VERIFY_MAC" {
		t.Errorf("KeySpec %v, KeyUsage %v, want HMAC_256 and GENERATE_VERIFY_MAC", props["KeySpec"], props["KeyUsage"])
	}
	uses := map[string][]string{}
	for _, raw := range props["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		st := raw.(map[string]any)
		var actions []string
		switch a := st["Action"].(type) {
		case string:
			actions = []string{a}
		case []any:
			for _, x := range a {
				actions = append(actions, x.(string))
			}
		}
		for _, a := range actions {
			if a == "kms:*" || strings.Contains(a, "Mac") {
				uses[st["Sid"].(string)] = append(uses[st["Sid"].(string)], a)
			}
		}
	}
	want := map[string][]string{
		"SnapshotSeals":           {"kms:GenerateMac"},
		"ReplaceSealsAndVerifies": {"kms:GenerateMac", "kms:VerifyMac"},
		"CleanupSealsAndVerifies": {"kms:GenerateMac", "kms:VerifyMac"},
	}
	if diff := cmp.Diff(want, uses); diff != "" {
		t.Errorf("who may use the record key (-want +got):\n%s", diff)
	}
}

func TestRootVolumeOutputs(t *testing.T) {
	tmpl := defaultRootVolume(t)
	for name, value := range map[string]any{
		"ReplaceRootVolumeFunctionName": map[string]any{"Ref": functionID(t, tmpl, ReplaceRootVolume)},
		"RootVolumeBusName":             map[string]any{"Ref": RootVolumeBusID},
		"ReplacementsTableName":         map[string]any{"Ref": ReplacementsTableID},
	} {
		check(t, func() { tmpl.HasOutput(jsii.String(name), map[string]any{"Value": value}) })
	}
}

func TestRootVolumeTags(t *testing.T) {
	tmpl := defaultRootVolume(t)
	tags := map[string]any{"Tags": assertions.Match_ArrayWith(&[]any{
		map[string]any{"Key": "capability", "Value": "root-volume"},
		map[string]any{"Key": "project", "Value": "lambda-suite"},
	})}
	for _, typ := range []string{"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup", "AWS::SQS::Queue", "AWS::Events::Rule"} {
		t.Run(typ, func(t *testing.T) {
			check(t, func() { tmpl.AllResourcesProperties(jsii.String(typ), tags) })
		})
	}
}

func TestRootVolumeProps(t *testing.T) {
	t.Run("settings", func(t *testing.T) {
		tmpl := synthRootVolume(t, RootVolumeStackProps{
			MinAge: "36h", DryRun: true, CleanupSchedule: "cron(0 3 * * ? *)", LogRetentionDays: 7,
			RetainReplaced: "72h", KeepTag: Tag{Key: "hold", Value: "yes"}, AdoptExternalReplacements: true,
		})
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
				"Environment": map[string]any{"Variables": map[string]any{"MIN_AGE": "36h", "DRY_RUN": "true",
					"RETAIN_REPLACED": "72h", "KEEP_TAG": "hold=yes", "ADOPT_EXTERNAL_REPLACEMENTS": "true"}},
			})
		})
		check(t, func() {
			tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{"ScheduleExpression": "cron(0 3 * * ? *)"})
		})
		check(t, func() {
			tmpl.AllResourcesProperties(jsii.String("AWS::Logs::LogGroup"), map[string]any{"RetentionInDays": 7})
		})
	})

	tests := []struct {
		name    string
		props   RootVolumeStackProps
		wantErr string
	}{
		{"no binaries", RootVolumeStackProps{AssetDir: t.TempDir()}, "make build"},
		{"tag without value", RootVolumeStackProps{SnapshotTag: Tag{Key: "replace-snapshot"}}, "want key=value"},
		{"tags share a key", RootVolumeStackProps{SnapshotTag: Tag{Key: "k", Value: "a"}, DeleteVolumeTag: Tag{Key: "k", Value: "b"}}, "share the key"},
		{"min age not a duration", RootVolumeStackProps{MinAge: "1 day"}, "min age"},
		{"retain replaced too long", RootVolumeStackProps{RetainReplaced: "9000h"}, "retain replaced"},
		{"keep tag shares a key", RootVolumeStackProps{KeepTag: Tag{Key: "delete-volume", Value: "no"}}, "keep tag key"},
		{"bus principal not an account", RootVolumeStackProps{BusPrincipals: []string{"everyone"}}, "bus principal"},
		// The old check took anything starting with "arn:"; awsid parses it.
		{"bus principal not an IAM principal ARN", RootVolumeStackProps{BusPrincipals: []string{"arn:aws:sns:us-east-1:123456789012:t"}}, "bus principal"},
		{"schedule not an expression", RootVolumeStackProps{CleanupSchedule: "hourly"}, "cleanup schedule"},
		{"retention CloudWatch refuses", RootVolumeStackProps{LogRetentionDays: 31}, "log retention 31"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.props.AssetDir == "" {
				tt.props.AssetDir = assetDir
			}
			_, err := NewRootVolumeStack(awscdk.NewApp(nil), "RootVolume", &tt.props)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("NewRootVolumeStack(%s) = %v, want an error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		in      string
		want    Tag
		wantErr bool
	}{
		{in: "replace-snapshot=true", want: Tag{Key: "replace-snapshot", Value: "true"}},
		{in: "a:b=c d", want: Tag{Key: "a:b", Value: "c d"}},
		{in: "novalue", wantErr: true},
		{in: "=true", wantErr: true},
		{in: "key=", wantErr: true},
		{in: "k=v=w", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTag(tt.in)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParseTag(%q) = %v, %v, want %v, error %t", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// logicalIDPrefix is the construct id NewRootVolumeStack gives a function.
func logicalIDPrefix(name string) string {
	var b strings.Builder
	for part := range strings.SplitSeq(name, "-") {
		b.WriteString(strings.ToUpper(part[:1]) + part[1:])
	}
	return b.String()
}
