package stacks

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsrbin"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

// The root-volume capability's functions, by folder name.
const (
	SnapshotOnVolumeCreate = "snapshot-on-volume-create"
	ReplaceRootVolume      = "replace-root-volume"
	RootVolumeCleanup      = "root-volume-cleanup"
)

// RootVolumeFunctions lists the folders the root-volume stack deploys.
var RootVolumeFunctions = []string{SnapshotOnVolumeCreate, ReplaceRootVolume, RootVolumeCleanup}

// Defaults of RootVolumeStackProps, shared with template.yaml's
// parameters: the functions' own defaults (rootvolume.Default*), written as
// the stack's parameters take them.
var (
	DefaultSnapshotTag     = rootvolume.DefaultSnapshotTag.String()
	DefaultDeleteVolumeTag = rootvolume.DefaultDeleteTag.String()
	DefaultMinAge          = hours(rootvolume.DefaultMinAge)
	DefaultRetainReplaced  = hours(rootvolume.DefaultRetainReplaced)
	DefaultRetainOrphaned  = hours(rootvolume.DefaultRetainOrphaned)
	DefaultKeepTag         = rootvolume.DefaultKeepTag.String()
	DefaultReplaceOptInTag = rootvolume.DefaultOptInTag.String()
	DefaultRecycleBinDays  = rootvolume.DefaultRecycleBinDays
)

// hours writes a whole number of hours as a Go duration ("24h"), the
// way template.yaml's parameters state them.
func hours(d time.Duration) string { return strconv.FormatInt(int64(d/time.Hour), 10) + "h" }

const (
	DefaultCleanupSchedule = "rate(1 hour)"
	// DefaultCoverageSchedule runs the coverage safety net hourly.
	DefaultCoverageSchedule = "rate(1 hour)"

	// ReplaceRootVolumeSource and ReplaceRootVolumeDetailType name the custom
	// event that asks replace-root-volume to act; SnapshotNowDetailType the
	// one that asks snapshot-on-volume-create to snapshot a root volume now.
	// Both travel on the stack's own bus.
	ReplaceRootVolumeSource     = rootvolume.EventSource
	ReplaceRootVolumeDetailType = rootvolume.ReplaceDetailType
	SnapshotNowDetailType       = rootvolume.SnapshotNowDetailType

	// Logical IDs of the stateful or shared resources, pinned so that a
	// refactor never replaces them, and the same in template.yaml.
	ReplacementsTableID = "RootVolumeReplacementsTable"
	RecordKeyID         = "RootVolumeRecordKey"
	RootVolumeBusID     = "RootVolumeBus"
	// The Recycle Bin rules hold deleted resources: a replaced one would
	// drop what it holds.
	RecycleBinSnapshotRuleID = "RootVolumeSnapshotRecycleRule"
	RecycleBinVolumeRuleID   = "RootVolumeVolumeRecycleRule"

	// attachWait is how long snapshot-on-volume-create waits for a new volume
	// to be attached; its timeout leaves room for the snapshot calls after.
	attachWait = "60s"
)

// Tag is a key=value tag that the functions set and that IAM conditions check.
type Tag = rootvolume.Tag

// ParseTag parses "key=value" by AWS's tag rules, as the functions do
// (awsid.ParseTag), and further needs a non-empty value without "=". That
// extra rule is the infra's own, not a second copy of the tag rule: the
// functions may take any tag AWS takes, but template.yaml splits the
// parameter on "=", and an empty value would make the IAM conditions
// (aws:ResourceTag/KEY = VALUE) match the empty string of untagged
// resources.
func ParseTag(s string) (Tag, error) {
	parsed, err := awsid.ParseTag(s)
	t := Tag(parsed)
	if err == nil && (t.Value == "" || strings.Contains(t.Value, "=")) {
		err = errors.New("the value must be non-empty and hold no \"=\"")
	}
	if err != nil {
		return Tag{}, fmt.Errorf("tag %q: want key=value: %w", s, err)
	}
	return t, nil
}

// RootVolumeStackProps configures the root-volume stack. Zero values take
// the defaults above.
type RootVolumeStackProps struct {
	awscdk.StackProps
	// AssetDir holds <function>/bootstrap for each of RootVolumeFunctions.
	AssetDir        string
	SnapshotTag     Tag
	DeleteVolumeTag Tag
	// MinAge is how old a tagged volume or snapshot must be before cleanup
	// deletes it, as a Go duration.
	MinAge          string
	DryRun          bool
	CleanupSchedule string
	// RetainReplaced is the rollback window after a replacement completed
	// before its old root volume may be deleted, as a Go duration.
	RetainReplaced string
	// RetainOrphaned is how long a suite snapshot is kept after the cleanup
	// first saw its source volume gone, as a Go duration.
	RetainOrphaned string
	// KeepTag on a volume or snapshot keeps it from the cleanup.
	KeepTag Tag
	// AdoptExternalReplacements lets the cleanup remove the old root volumes
	// of replacements the suite did not start.
	AdoptExternalReplacements bool
	// ReplaceOptInTag must be on an instance for its root to be replaced.
	ReplaceOptInTag Tag
	// BusPrincipals may put events on the stack's bus (account IDs or IAM
	// ARNs; an account ID lets that account's IAM decide); default: none.
	BusPrincipals []string
	// LogRetentionDays is one of the values CloudWatch Logs accepts.
	LogRetentionDays int
	// NotifyTopicARN is the SNS topic the cleanup tells what it deleted or
	// refused to delete; empty creates one.
	NotifyTopicARN string
	// ReclaimPrices override the cleanup's us-east-1 list prices for the
	// stack's Region (RECLAIM_PRICES: "gp3=0.0952,snapshot=0.0595"); empty
	// keeps them.
	ReclaimPrices string
	// CoverageSchedule runs snapshot-on-volume-create's coverage run
	// (COVERAGE_SCHEDULE; default hourly); CoverageScope is opted-in
	// (default) or all.
	CoverageSchedule string
	CoverageScope    string
	// NoRecycleBin leaves out the Recycle Bin rules: a delete is then
	// final. By default the stack keeps the snapshots the cleanup deletes
	// for RecycleBinDays and its volumes for rootvolume.RecycleBinVolumeDays.
	NoRecycleBin bool
	// RecycleBinDays: 1-365; 0 takes rootvolume.DefaultRecycleBinDays.
	RecycleBinDays int
}

func (p *RootVolumeStackProps) withDefaults() RootVolumeStackProps {
	out := *p
	if out.SnapshotTag == (Tag{}) {
		out.SnapshotTag, _ = ParseTag(DefaultSnapshotTag)
	}
	if out.DeleteVolumeTag == (Tag{}) {
		out.DeleteVolumeTag, _ = ParseTag(DefaultDeleteVolumeTag)
	}
	if out.MinAge == "" {
		out.MinAge = DefaultMinAge
	}
	if out.CleanupSchedule == "" {
		out.CleanupSchedule = DefaultCleanupSchedule
	}
	if out.RetainReplaced == "" {
		out.RetainReplaced = DefaultRetainReplaced
	}
	if out.RetainOrphaned == "" {
		out.RetainOrphaned = DefaultRetainOrphaned
	}
	if out.CoverageSchedule == "" {
		out.CoverageSchedule = DefaultCoverageSchedule
	}
	if out.CoverageScope == "" {
		out.CoverageScope = rootvolume.CoverageOptedIn
	}
	if out.RecycleBinDays == 0 {
		out.RecycleBinDays = rootvolume.DefaultRecycleBinDays
	}
	if out.KeepTag == (Tag{}) {
		out.KeepTag, _ = ParseTag(DefaultKeepTag)
	}
	if out.ReplaceOptInTag == (Tag{}) {
		out.ReplaceOptInTag, _ = ParseTag(DefaultReplaceOptInTag)
	}
	return out
}

func (p *RootVolumeStackProps) validate() error {
	var errs []error
	if _, err := ParseTag(p.SnapshotTag.String()); err != nil {
		errs = append(errs, fmt.Errorf("snapshot %w", err))
	}
	if _, err := ParseTag(p.DeleteVolumeTag.String()); err != nil {
		errs = append(errs, fmt.Errorf("delete-volume %w", err))
	}
	if p.SnapshotTag.Key == p.DeleteVolumeTag.Key {
		// Cleanup would then delete snapshots' volumes by the snapshot tag.
		errs = append(errs, fmt.Errorf("snapshot and delete-volume tags share the key %q", p.SnapshotTag.Key))
	}
	if _, err := ParseTag(p.KeepTag.String()); err != nil {
		errs = append(errs, fmt.Errorf("keep %w", err))
	}
	if _, err := ParseTag(p.ReplaceOptInTag.String()); err != nil {
		errs = append(errs, fmt.Errorf("replace opt-in %w", err))
	}
	if p.KeepTag.Key == p.DeleteVolumeTag.Key || p.KeepTag.Key == p.SnapshotTag.Key {
		errs = append(errs, fmt.Errorf("keep tag key %q: must differ from the snapshot and delete-volume tags' keys", p.KeepTag.Key))
	}
	if d, err := time.ParseDuration(p.RetainReplaced); err != nil || d < 0 || d > rootvolume.MaxRetainReplaced {
		errs = append(errs, fmt.Errorf("retain replaced %q: want a Go duration from 0 to %s", p.RetainReplaced, rootvolume.MaxRetainReplaced))
	}
	if d, err := time.ParseDuration(p.RetainOrphaned); err != nil || d < 0 || d > rootvolume.MaxRetainReplaced {
		errs = append(errs, fmt.Errorf("retain orphaned %q: want a Go duration from 0 to %s", p.RetainOrphaned, rootvolume.MaxRetainReplaced))
	}
	for _, pr := range p.BusPrincipals {
		if _, err := awsid.ParseIAMPrincipalARN(pr); err != nil && !awsid.IsAccountID(pr) {
			errs = append(errs, fmt.Errorf("bus principal %q: want an account ID or an IAM ARN", pr))
		}
	}
	if d, err := time.ParseDuration(p.MinAge); err != nil || d < 0 {
		errs = append(errs, fmt.Errorf("min age %q: want a non-negative Go duration such as 1h", p.MinAge))
	}
	if !strings.HasPrefix(p.CleanupSchedule, "rate(") && !strings.HasPrefix(p.CleanupSchedule, "cron(") {
		errs = append(errs, fmt.Errorf("cleanup schedule %q: want rate(...) or cron(...)", p.CleanupSchedule))
	}
	if !strings.HasPrefix(p.CoverageSchedule, "rate(") && !strings.HasPrefix(p.CoverageSchedule, "cron(") {
		errs = append(errs, fmt.Errorf("coverage schedule %q: want rate(...) or cron(...)", p.CoverageSchedule))
	}
	if p.CoverageScope != rootvolume.CoverageOptedIn && p.CoverageScope != rootvolume.CoverageAll {
		errs = append(errs, fmt.Errorf("coverage scope %q: want %s or %s", p.CoverageScope, rootvolume.CoverageOptedIn, rootvolume.CoverageAll))
	}
	if p.RecycleBinDays < 1 || p.RecycleBinDays > rootvolume.MaxRecycleBinDays {
		errs = append(errs, fmt.Errorf("recycle bin days %d: want 1 to %d", p.RecycleBinDays, rootvolume.MaxRecycleBinDays))
	}
	if _, err := rootvolume.ParsePrices(p.ReclaimPrices); err != nil {
		errs = append(errs, fmt.Errorf("reclaim prices %q: %w", p.ReclaimPrices, err))
	}
	errs = append(errs, checkLogRetention(p.LogRetentionDays))
	errs = append(errs, checkNotifyTopic(p.NotifyTopicARN))
	errs = append(errs, checkFunctionAssets(p.AssetDir, RootVolumeFunctions...))
	return errors.Join(errs...)
}

// NewRootVolumeStack builds the root-volume capability: snapshot new volumes,
// replace root volumes on request, and clean up what the two leave behind.
// recycleBinDays is what the cleanup is told of the stack's rule: its
// snapshot retention, or 0 when there is none.
func (p *RootVolumeStackProps) recycleBinDays() int {
	if p.NoRecycleBin {
		return 0
	}
	return p.RecycleBinDays
}

// recycleBinRules keeps what the cleanup deletes in the Recycle Bin, by
// tag-level retention rules (AWS::Rbin::Rule, resource types EBS_SNAPSHOT
// and EBS_VOLUME:
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rbin-rule.html):
// the suite's snapshots by SNAPSHOT_TAG, for RecycleBinDays, and the
// replaced volumes by DELETE_VOLUME_TAG (every volume the cleanup deletes
// carries it), for RecycleBinVolumeDays, the most the bin allows.
func recycleBinRules(stack awscdk.Stack, p RootVolumeStackProps) {
	if p.NoRecycleBin {
		return
	}
	for _, r := range []struct {
		id, typ, what string
		tag           Tag
		days          int
	}{
		{RecycleBinSnapshotRuleID, "EBS_SNAPSHOT", "snapshots", p.SnapshotTag, p.RecycleBinDays},
		{RecycleBinVolumeRuleID, "EBS_VOLUME", "replaced root volumes", p.DeleteVolumeTag, rootvolume.RecycleBinVolumeDays},
	} {
		rule := awsrbin.NewCfnRule(stack, jsii.String(r.id), &awsrbin.CfnRuleProps{
			Description:  jsii.String("lambda-suite: keeps the " + r.what + " root-volume-cleanup deletes, so they can be restored"),
			ResourceType: jsii.String(r.typ),
			ResourceTags: []any{&awsrbin.CfnRule_ResourceTagProperty{ResourceTagKey: jsii.String(r.tag.Key), ResourceTagValue: jsii.String(r.tag.Value)}},
			RetentionPeriod: &awsrbin.CfnRule_RetentionPeriodProperty{
				RetentionPeriodUnit: jsii.String("DAYS"), RetentionPeriodValue: jsii.Number(float64(r.days)),
			},
		})
		pinLogicalID(rule, r.id)
	}
}

func NewRootVolumeStack(scope constructs.Construct, id string, props *RootVolumeStackProps) (awscdk.Stack, error) {
	p := props.withDefaults()
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("root-volume stack: %w", err)
	}

	stack := awscdk.NewStack(scope, jsii.String(id), &p.StackProps)
	tagCapability(stack, "root-volume")

	// The replacements table is what the cleanup trusts: only the suite's
	// three roles are granted writes (identity policies below). No resource
	// policy: within the account nobody may write a table unless IAM grants
	// it, and a resource policy naming the roles would make the table and
	// the roles depend on each other.
	table := newRecordTable(stack, "ReplacementsTable", ReplacementsTableID)
	// Each function gets only the item actions it calls, by hand: the
	// DynamoDB Grant* calls add DescribeTable, ConditionCheckItem, Query,
	// the Batch* and stream actions, which none of them uses.
	tableARN := []*string{table.TableArn()}
	// The records are sealed with a key of the stack; its policy, naming
	// the roles, is set once they exist (recordKeyPolicy).
	recordKey := awskms.NewCfnKey(stack, jsii.String("RecordKey"), &awskms.CfnKeyProps{
		Description: jsii.String("Seals the root-volume records the suite acts on (GenerateMac/VerifyMac)."),
		KeySpec:     jsii.String("HMAC_256"),
		KeyUsage:    jsii.String("GENERATE_VERIFY_MAC"),
	})
	recordKey.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)
	pinLogicalID(recordKey, RecordKeyID)
	keyARN := *recordKey.AttrArn()

	// The suite's custom events travel on a bus of its own, whose policy
	// names who may put them.
	bus := awsevents.NewEventBus(stack, jsii.String("Bus"), nil)
	pinLogicalID(bus, RootVolumeBusID)
	busPolicies(stack, bus, p.BusPrincipals)
	recycleBinRules(stack, p)

	snapshot := NewFunction(stack, "SnapshotOnVolumeCreate", &FunctionProps{
		Name:        SnapshotOnVolumeCreate,
		AssetDir:    p.AssetDir,
		Description: "Snapshots a new EBS volume that becomes a root volume, tagged for replace-root-volume.",
		Timeout:     awscdk.Duration_Minutes(jsii.Number(2)),
		Environment: map[string]string{
			"SNAPSHOT_TAG":       p.SnapshotTag.String(),
			"ATTACH_WAIT":        attachWait,
			"REPLACEMENTS_TABLE": *table.TableName(),
			"PROOF_KEY_ARN":      keyARN,
			"REPLACE_OPT_IN_TAG": p.ReplaceOptInTag.String(),
			"COVERAGE_SCOPE":     p.CoverageScope,
		},
		Statements: []awsiam.PolicyStatement{
			allow(stack, "Describe", []string{"ec2:DescribeVolumes", "ec2:DescribeInstances", "ec2:DescribeSnapshots"}, nil, nil),
			// root#: the roots it confirms; notice#: the once-only notice of
			// a root the coverage run could not snapshot.
			statement("RecordRootVolumes", []string{"dynamodb:PutItem"}, tableARN, leadingKeys("root#", "notice#")),
			allow(stack, "CreateTaggedSnapshot", []string{"ec2:CreateSnapshot"}, []string{"snapshot/*"}, requestTag(p.SnapshotTag)),
			// The volume side of CreateSnapshot carries no request tags.
			allow(stack, "SnapshotVolumes", []string{"ec2:CreateSnapshot"}, []string{"volume/*"}, nil),
			allow(stack, "TagSnapshotOnCreate", []string{"ec2:CreateTags"}, []string{"snapshot/*"}, createAction("CreateSnapshot")),
		},
		OnFailure:        true,
		LogRetentionDays: p.LogRetentionDays,
	})
	awsevents.NewRule(stack, jsii.String("VolumeCreatedRule"), &awsevents.RuleProps{
		Description: jsii.String("EBS createVolume notifications to " + SnapshotOnVolumeCreate),
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings("aws.ec2"),
			DetailType: jsii.Strings("EBS Volume Notification"),
			Detail:     &map[string]any{"event": []string{"createVolume"}},
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(snapshot.Function, nil)},
	})
	awsevents.NewRule(stack, jsii.String("SnapshotNowRule"), &awsevents.RuleProps{
		Description: jsii.String("Snapshot-now requests to " + SnapshotOnVolumeCreate),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(ReplaceRootVolumeSource),
			DetailType: jsii.Strings(SnapshotNowDetailType),
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(snapshot.Function, nil)},
	})

	replace := NewFunction(stack, "ReplaceRootVolume", &FunctionProps{
		Name:        ReplaceRootVolume,
		AssetDir:    p.AssetDir,
		Description: "Replaces an instance's root volume from its latest tagged snapshot or its launch state.",
		Timeout:     awscdk.Duration_Minutes(jsii.Number(1)),
		Environment: map[string]string{
			"SNAPSHOT_TAG":       p.SnapshotTag.String(),
			"DELETE_VOLUME_TAG":  p.DeleteVolumeTag.String(),
			"REPLACE_OPT_IN_TAG": p.ReplaceOptInTag.String(),
			"REPLACEMENTS_TABLE": *table.TableName(),
			"PROOF_KEY_ARN":      keyARN,
		},
		Statements: []awsiam.PolicyStatement{
			// DescribeReplaceRootVolumeTasks: a new request after a task
			// that is over takes a new token; a lost answer is looked up.
			allow(stack, "Describe", []string{"ec2:DescribeInstances", "ec2:DescribeSnapshots", "ec2:DescribeReplaceRootVolumeTasks"}, nil, nil),
			statement("RecordReplacements", []string{"dynamodb:PutItem", "dynamodb:GetItem"}, tableARN, leadingKeys("replacement#", "invocation#")),
			allow(stack, "MarkVolumeForDeletion", []string{"ec2:CreateTags"}, []string{"volume/*"}, merge(
				requestTag(p.DeleteVolumeTag),
				map[string]any{"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{p.DeleteVolumeTag.Key}}},
			)),
			// Only instances that opt in, as the function checks too.
			allow(stack, "ReplaceOptedInInstances", []string{"ec2:CreateReplaceRootVolumeTask"}, []string{"instance/*"}, resourceTag(p.ReplaceOptInTag)),
			allow(stack, "ReplaceRootVolume", []string{"ec2:CreateReplaceRootVolumeTask"},
				[]string{"volume/*", "snapshot/*", "image/*", "replace-root-volume-task/*"}, nil),
			allow(stack, "TagTaskOnCreate", []string{"ec2:CreateTags"}, []string{"replace-root-volume-task/*"}, createAction("CreateReplaceRootVolumeTask")),
		},
		OnFailure:        true,
		LogRetentionDays: p.LogRetentionDays,
	})
	awsevents.NewRule(stack, jsii.String("ReplaceRequestedRule"), &awsevents.RuleProps{
		Description: jsii.String("Replace-root-volume requests to " + ReplaceRootVolume),
		EventBus:    bus,
		EventPattern: &awsevents.EventPattern{
			Source:     jsii.Strings(ReplaceRootVolumeSource),
			DetailType: jsii.Strings(ReplaceRootVolumeDetailType),
		},
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(replace.Function, nil)},
	})

	topic := notificationTopic(stack, "RootVolumeNotifyTopic", p.NotifyTopicARN, "lambda-suite root-volume cleanup")
	cleanup := NewFunction(stack, "RootVolumeCleanup", &FunctionProps{
		Name:        RootVolumeCleanup,
		AssetDir:    p.AssetDir,
		Description: "Deletes root volumes the suite provably replaced, after a rollback window, and the suite's orphaned snapshots.",
		Timeout:     awscdk.Duration_Minutes(jsii.Number(15)),
		Environment: map[string]string{
			"SNAPSHOT_TAG":                p.SnapshotTag.String(),
			"DELETE_VOLUME_TAG":           p.DeleteVolumeTag.String(),
			"MIN_AGE":                     p.MinAge,
			"DRY_RUN":                     strconv.FormatBool(p.DryRun),
			"RECLAIM_PRICES":              p.ReclaimPrices,
			"RECYCLE_BIN_DAYS":            strconv.Itoa(p.recycleBinDays()),
			"RETAIN_REPLACED":             p.RetainReplaced,
			"RETAIN_ORPHANED":             p.RetainOrphaned,
			"KEEP_TAG":                    p.KeepTag.String(),
			"ADOPT_EXTERNAL_REPLACEMENTS": strconv.FormatBool(p.AdoptExternalReplacements),
			"REPLACEMENTS_TABLE":          *table.TableName(),
			"PROOF_KEY_ARN":               keyARN,
			NotifyTopicEnv:                *topic,
			// Mass deletes get throttled; the SDK's adaptive retryer paces them.
			"AWS_RETRY_MODE":   "adaptive",
			"AWS_MAX_ATTEMPTS": "10",
		},
		Statements: []awsiam.PolicyStatement{
			allow(stack, "Describe", []string{"ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:DescribeImages", "ec2:DescribeInstances",
				"ec2:DescribeReplaceRootVolumeTasks", "ec2:ListImagesInRecycleBin", "ec2:DescribeLockedSnapshots"}, nil, nil),
			// Scan takes no dynamodb:LeadingKeys (Service Authorization
			// Reference, Amazon DynamoDB): the reads are the whole table.
			statement("ReadRecords", []string{"dynamodb:Scan"}, tableARN, nil),
			statement("CloseRecords", []string{"dynamodb:PutItem"}, tableARN, leadingKeys("replacement#", "rollback#", "orphan#", "notice#")),
			// KEEP_TAG holds against the role itself: no label, no delete.
			denyKept(stack, p.KeepTag),
			// The label goes on an adopted volume before its delete, and
			// off a failed replacement's root: that tag only.
			allow(stack, "LabelVolumes", []string{"ec2:CreateTags", "ec2:DeleteTags"}, []string{"volume/*"}, onlyTagKey(p.DeleteVolumeTag)),
			allow(stack, "DeleteMarkedVolumes", []string{"ec2:DeleteVolume"}, []string{"volume/*"}, resourceTag(p.DeleteVolumeTag)),
			allow(stack, "DeleteReplaceSnapshots", []string{"ec2:DeleteSnapshot"}, []string{"snapshot/*"}, resourceTag(p.SnapshotTag)),
			publishStatement(topic),
		},
		OnFailure: true,
		// No retries: the schedule runs it again anyway, and a retry would
		// repeat a sweep that is likely to fail the same way.
		RetryAttempts:    new(int),
		LogRetentionDays: p.LogRetentionDays,
	})
	recordKey.SetKeyPolicy(recordKeyPolicy(snapshot, replace, cleanup))

	awsevents.NewRule(stack, jsii.String("CoverageScheduleRule"), &awsevents.RuleProps{
		Description: jsii.String("Runs " + SnapshotOnVolumeCreate + "'s coverage: every root in scope gets a restore point"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(p.CoverageSchedule)),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(snapshot.Function, nil)},
	})
	awsevents.NewRule(stack, jsii.String("CleanupScheduleRule"), &awsevents.RuleProps{
		Description: jsii.String("Runs " + RootVolumeCleanup + " on a schedule"),
		Schedule:    awsevents.Schedule_Expression(jsii.String(p.CleanupSchedule)),
		Targets:     &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(cleanup.Function, nil)},
	})

	awscdk.NewCfnOutput(stack, jsii.String("ReplaceRootVolumeFunctionName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Invoke directly, or put a \"Replace Root Volume Requested\" event from lambda-suite.root-volume on the bus."),
		Value:       replace.Function.FunctionName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("RootVolumeBusName"), &awscdk.CfnOutputProps{
		Description: jsii.String("The bus for \"Replace Root Volume Requested\" and \"Snapshot Root Volume Requested\" events."),
		Value:       bus.EventBusName(),
	})
	awscdk.NewCfnOutput(stack, jsii.String("ReplacementsTableName"), &awscdk.CfnOutputProps{
		Description: jsii.String("Replacement records and confirmed root volumes: what the cleanup trusts."),
		Value:       table.TableName(),
	})

	opsTopic := Observe(stack, snapshot, replace, cleanup).TopicARN
	// The coverage run tells operators of a root it could not snapshot.
	tellOperators(stack, snapshot, opsTopic)
	return stack, nil
}

// busPolicies says who may put events on the bus: the principals named,
// and nobody else. Within the account an Allow alone restricts nothing
// (an identity policy suffices), so a Deny refuses every principal whose
// ARN and account are not named (EventBridge resource policies take an
// explicit Deny: CloudFormation template reference,
// AWS::EventsV2::ResourcePolicy). With none named, the Deny has no
// condition: nobody may put events (the functions put none). The Allow,
// for principals of other accounts, comes only with names.
func busPolicies(stack awscdk.Stack, bus awsevents.EventBus, names []string) {
	deny := map[string]any{
		"Sid": "DenyOtherPrincipals", "Effect": "Deny", "Principal": "*", "Action": "events:PutEvents", "Resource": bus.EventBusArn(),
	}
	if len(names) > 0 {
		deny["Condition"] = map[string]any{
			"StringNotLike":   map[string]any{"aws:PrincipalArn": names},
			"StringNotEquals": map[string]any{"aws:PrincipalAccount": names},
		}
	}
	denyOthers := awsevents.NewCfnEventBusPolicy(stack, jsii.String("BusDenyOthers"), &awsevents.CfnEventBusPolicyProps{
		EventBusName: bus.EventBusName(), StatementId: jsii.String("DenyOtherPrincipals"), Statement: deny,
	})
	pinLogicalID(denyOthers, RootVolumeBusID+"DenyOthers")
	if len(names) == 0 {
		return
	}
	allow := awsevents.NewCfnEventBusPolicy(stack, jsii.String("BusPolicy"), &awsevents.CfnEventBusPolicyProps{
		EventBusName: bus.EventBusName(),
		StatementId:  jsii.String("PutSuiteEvents"),
		Statement: map[string]any{
			"Sid": "PutSuiteEvents", "Effect": "Allow", "Principal": map[string]any{"AWS": names},
			"Action": "events:PutEvents", "Resource": bus.EventBusArn(),
		},
	})
	pinLogicalID(allow, RootVolumeBusID+"Policy")
	// One statement at a time: EventBridge's PutPermission rewrites the
	// bus's policy.
	allow.AddDependency(denyOthers)
}

// recordKeyPolicy is the record key's policy: the account's administrators
// manage the key but cannot use it, and, since the policy does not let the
// account's IAM decide, no identity policy can grant its use to anyone
// else; each of the three roles may make MACs, and the two that read
// records may check them (KMS developer guide, "Key policies in AWS KMS").
func recordKeyPolicy(snapshot, replace, cleanup *Function) map[string]any {
	role := func(f *Function) map[string]any { return map[string]any{"AWS": *f.Function.Role().RoleArn()} }
	stmt := func(sid string, principal map[string]any, actions ...string) map[string]any {
		var action any = actions
		if len(actions) == 1 {
			action = actions[0]
		}
		return map[string]any{"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}
	}
	return map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			stmt("AccountAdministers", map[string]any{"AWS": awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:iam::${AWS::AccountId}:root"), nil)},
				"kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
				"kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"),
			stmt("SnapshotSeals", role(snapshot), "kms:GenerateMac"),
			stmt("ReplaceSealsAndVerifies", role(replace), "kms:GenerateMac", "kms:VerifyMac"),
			stmt("CleanupSealsAndVerifies", role(cleanup), "kms:GenerateMac", "kms:VerifyMac"),
		},
	}
}

// tagCapability tags every taggable resource of a capability's stack.
func tagCapability(stack awscdk.Stack, capability string) {
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("lambda-suite"), nil)
	awscdk.Tags_Of(stack).Add(jsii.String("capability"), jsii.String(capability), nil)
}

// allow builds an Allow statement on EC2 resources of the given types
// ("volume/*"), or on "*" when there are none: Describe calls have no
// resource-level permissions.
func allow(stack awscdk.Stack, sid string, actions, resourceTypes []string, conditions map[string]any) awsiam.PolicyStatement {
	if len(resourceTypes) == 0 {
		return statement(sid, actions, star(), conditions)
	}
	resources := make([]*string, len(resourceTypes))
	for i, r := range resourceTypes {
		resources[i] = ec2ARN(stack, r)
	}
	return statement(sid, actions, resources, conditions)
}

// ec2ARN is the ARN of EC2 resources of one type in this stack's region.
// Snapshot and image ARNs have no account: they can be shared or public.
func ec2ARN(stack awscdk.Stack, resource string) *string {
	arn := awscdk.ArnComponents{Service: jsii.String("ec2"), Resource: jsii.String(resource)}
	if strings.HasPrefix(resource, "snapshot/") || strings.HasPrefix(resource, "image/") {
		arn.Account = jsii.String("")
	}
	return stack.FormatArn(&arn)
}

func requestTag(t Tag) map[string]any {
	return map[string]any{"StringEquals": map[string]any{"aws:RequestTag/" + t.Key: t.Value}}
}

func resourceTag(t Tag) map[string]any {
	return map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + t.Key: t.Value}}
}

// onlyTagKey allows tagging with this tag's key only (and untagging it).
// The keys must be given: DeleteTags without any removes every tag, and
// ForAllValues holds for an empty set.
func onlyTagKey(t Tag) map[string]any {
	return map[string]any{
		"ForAllValues:StringEquals": map[string]any{"aws:TagKeys": []string{t.Key}},
		"Null":                      map[string]any{"aws:TagKeys": "false"},
	}
}

// leadingKeys limits item calls to items whose key starts with one of
// the prefixes: each role writes (and reads) only the kinds of record it
// owns (dynamodb:LeadingKeys, DynamoDB developer guide, "Using IAM policy
// conditions for fine-grained access control").
func leadingKeys(prefixes ...string) map[string]any {
	patterns := make([]string, len(prefixes))
	for i, p := range prefixes {
		patterns[i] = p + "*"
	}
	return map[string]any{"ForAllValues:StringLike": map[string]any{"dynamodb:LeadingKeys": patterns}}
}

// denyKept refuses deleting, or labelling, a volume or snapshot that
// carries KEEP_TAG, whatever else the role allows.
func denyKept(stack awscdk.Stack, keep Tag) awsiam.PolicyStatement {
	st := allow(stack, "DenyKeptResources", []string{"ec2:DeleteVolume", "ec2:DeleteSnapshot", "ec2:CreateTags"},
		[]string{"volume/*", "snapshot/*"}, resourceTag(keep))
	st.SetEffect(awsiam.Effect_DENY)
	return st
}

// createAction allows tagging only as part of the named create call.
func createAction(action string) map[string]any {
	return map[string]any{"StringEquals": map[string]any{"ec2:CreateAction": action}}
}

// merge joins condition blocks whose operators differ.
func merge(blocks ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, b := range blocks {
		maps.Copy(out, b)
	}
	return out
}
