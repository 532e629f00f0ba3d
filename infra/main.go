// Command infra is the suite's CDK app: one stack per capability, so that
// operators deploy only what they need. See README.md for the context keys.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/ebs-ops/lambda-suite/infra/stacks"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "infra: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	ctx := contextReader{app: app}

	// The assets are the Makefile's bin/, one level up from this folder
	// where cdk.json runs the app.
	assetDir := ctx.string("assetDir", "../bin")

	rootVolume := &stacks.RootVolumeStackProps{
		// Environment-agnostic: ARNs use the deploy-time partition, region
		// and account, so synth needs no credentials.
		StackProps: awscdk.StackProps{
			Description: jsii.String("lambda-suite: root-volume capability (snapshot, replace and clean up EBS root volumes)"),
		},
		AssetDir:         assetDir,
		SnapshotTag:      ctx.tag("snapshotTag", stacks.DefaultSnapshotTag),
		DeleteVolumeTag:  ctx.tag("deleteVolumeTag", stacks.DefaultDeleteVolumeTag),
		MinAge:           ctx.string("minAge", stacks.DefaultMinAge),
		DryRun:           ctx.bool("dryRun", false),
		CleanupSchedule:  ctx.string("cleanupSchedule", stacks.DefaultCleanupSchedule),
		RetainReplaced:   ctx.string("retainReplaced", stacks.DefaultRetainReplaced),
		RetainOrphaned:   ctx.string("retainOrphaned", stacks.DefaultRetainOrphaned),
		KeepTag:          ctx.tag("keepTag", stacks.DefaultKeepTag),
		ReplaceOptInTag:  ctx.tag("replaceOptInTag", stacks.DefaultReplaceOptInTag),
		BusPrincipals:    ctx.list("rootVolumeBusPrincipals"),
		LogRetentionDays: ctx.int("logRetentionDays", stacks.DefaultLogRetentionDays),

		AdoptExternalReplacements: ctx.bool("adoptExternalReplacements", false),
		NotifyTopicARN:            ctx.string("rootVolumeNotifyTopicArn", ""),
		ReclaimPrices:             ctx.string("reclaimPrices", ""),
		CoverageSchedule:          ctx.string("coverageSchedule", stacks.DefaultCoverageSchedule),
		CoverageScope:             ctx.string("coverageScope", "opted-in"),
		NoRecycleBin:              !ctx.bool("recycleBin", true),
		RecycleBinDays:            ctx.int("recycleBinDays", stacks.DefaultRecycleBinDays),
	}
	pipelineHealth := &stacks.HealthGateStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("lambda-suite: pipeline-health capability (AWS Health gate for CodePipeline, stage retries)"),
		},
		AssetDir:         assetDir,
		Pipelines:        healthGatePipelines(&ctx),
		OrganizationView: ctx.bool("healthGateOrganizationView", false),
		RetryAnyFailure:  ctx.bool("healthGateRetryAnyFailure", false),
		MaxRetryWindow:   ctx.string("healthGateMaxRetryWindow", ""),
		NotifyTopicARN:   ctx.string("healthGateNotifyTopicArn", ""),
		ExamplePipeline:  ctx.bool("healthGateExamplePipeline", false),
		LogRetentionDays: ctx.int("logRetentionDays", stacks.DefaultLogRetentionDays),
	}
	amiApproval := &stacks.ApprovalStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("lambda-suite: AMI approval (EC2 Image Builder AMIs shared only after a person approves them)"),
		},
		AssetDir:         assetDir,
		LogRetentionDays: ctx.int("logRetentionDays", stacks.DefaultLogRetentionDays),
	}
	diskAlarm := &stacks.DiskAlarmStackProps{
		StackProps: awscdk.StackProps{
			Description: jsii.String("lambda-suite: disk-alarm capability (CloudWatch disk-space alarms kept in step with EC2 instances)"),
		},
		AssetDir:            assetDir,
		TopicARN:            ctx.string("diskAlarmTopicArn", ""),
		InstanceNamePattern: ctx.string("diskAlarmInstanceNamePattern", ""),
		AlarmTag:            ctx.string("diskAlarmTag", ""),
		AlarmPrefix:         ctx.string("diskAlarmPrefix", ""),
		Thresholds:          ctx.string("diskAlarmThresholds", ""),
		FillWithin:          ctx.string("diskAlarmFillWithin", ""),
		Schedule:            ctx.string("diskAlarmSchedule", stacks.DefaultDiskAlarmSchedule),
		LogRetentionDays:    ctx.int("logRetentionDays", stacks.DefaultLogRetentionDays),
	}
	// The organization rollout is synthesized only when asked for: it
	// needs the organization, its OUs and Regions (make deploy-org).
	var org *stacks.OrgRolloutProps
	if ctx.has("orgId", "orgTargetOus", "orgRegions") {
		org = &stacks.OrgRolloutProps{
			AssetDir:                   assetDir,
			OrganizationID:             ctx.string("orgId", ""),
			TargetOUs:                  ctx.list("orgTargetOus"),
			Regions:                    ctx.list("orgRegions"),
			Capabilities:               ctx.list("orgCapabilities"),
			MaxConcurrentPercentage:    ctx.int("orgMaxConcurrentPercentage", stacks.DefaultOrgMaxConcurrentPercentage),
			FailureTolerancePercentage: ctx.int("orgFailureTolerancePercentage", stacks.DefaultOrgFailureTolerancePercentage),
			CallAs:                     ctx.string("orgCallAs", stacks.DefaultOrgCallAs),
			// The same settings as the single-account stacks.
			RootVolume: *rootVolume,
			DiskAlarm:  *diskAlarm,
		}
	}
	if ctx.bool("nag", false) {
		stacks.AddNagChecks(app)
	}
	if err := ctx.err(); err != nil {
		return err
	}
	if _, err := stacks.NewRootVolumeStack(app, "LambdaSuiteRootVolume", rootVolume); err != nil {
		return err
	}
	if _, err := stacks.NewHealthGateStack(app, "LambdaSuitePipelineHealth", pipelineHealth); err != nil {
		return err
	}
	if _, err := stacks.NewApprovalStack(app, "LambdaSuiteAmiApproval", amiApproval); err != nil {
		return err
	}
	if _, err := stacks.NewDiskAlarmStack(app, "LambdaSuiteDiskAlarm", diskAlarm); err != nil {
		return err
	}

	if org != nil {
		if _, err := stacks.NewOrgRollout(app, org); err != nil {
			return err
		}
	}

	app.Synth(nil)
	return nil
}

// contextReader reads CDK context (-c key=value or cdk.json) and collects
// every malformed value, so one synth reports them all.
type contextReader struct {
	app  awscdk.App
	errs []error
}

func (c *contextReader) string(key, def string) string {
	v := c.app.Node().TryGetContext(jsii.String(key))
	if v == nil {
		return def
	}
	// cdk.json may hold numbers and booleans; -c always gives strings.
	return fmt.Sprint(v)
}

// has reports whether any of keys is set.
func (c *contextReader) has(keys ...string) bool {
	for _, k := range keys {
		if c.app.Node().TryGetContext(jsii.String(k)) != nil {
			return true
		}
	}
	return false
}

func (c *contextReader) tag(key, def string) stacks.Tag {
	t, err := stacks.ParseTag(c.string(key, def))
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("context %s: %w", key, err))
	}
	return t
}

func (c *contextReader) bool(key string, def bool) bool {
	b, err := strconv.ParseBool(c.string(key, strconv.FormatBool(def)))
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("context %s: want true or false", key))
	}
	return b
}

func (c *contextReader) int(key string, def int) int {
	n, err := strconv.Atoi(c.string(key, strconv.Itoa(def)))
	if err != nil {
		c.errs = append(c.errs, fmt.Errorf("context %s: want a whole number", key))
	}
	return n
}

// list reads a comma-separated context value; unset or blank gives nil.
func (c *contextReader) list(key string) []string {
	var out []string
	for item := range strings.SplitSeq(c.string(key, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (c *contextReader) err() error { return errors.Join(c.errs...) }

// healthGatePipelines reads healthGatePipelines; unset, it names the example
// pipeline's name, as SAM's HealthGatePipelines does, so that the stack
// deploys without the example pipeline and retries a pipeline given that name.
func healthGatePipelines(ctx *contextReader) []string {
	if pipelines := ctx.list("healthGatePipelines"); len(pipelines) > 0 {
		return pipelines
	}
	return []string{stacks.DefaultExamplePipelineName}
}
