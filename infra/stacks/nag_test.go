package stacks

import (
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
)

// withNagChecks adds cdk-nag's checks to a stack before it is synthesized.
func withNagChecks(stack awscdk.Stack) { AddNagChecks(stack) }

// TestCDKNag runs AwsSolutionsChecks on every stack the CDK app deploys,
// the organization rollout's included, and fails on any finding at error
// level that the stack does not suppress with a reason.
func TestCDKNag(t *testing.T) {
	stacks := map[string]awscdk.Stack{}
	for name, o := range map[string]*onceTemplate{
		"RootVolume": &rootVolumeDefault, "PipelineHealth": &healthGateDefault,
		"AmiApproval": &approvalDefault, "DiskAlarm": &diskAlarmDefault,
	} {
		suiteTemplates(t) // synthesizes each default stack once
		stacks[name] = o.stack
	}
	for _, s := range defaultOrgRollout(t).stacks {
		stacks[*s.StackName()] = s
	}
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range stacks {
			if !yield(k) {
				return
			}
		}
	}) {
		t.Run(name, func(t *testing.T) {
			// HasNoError fails listing every unsuppressed finding.
			check(t, func() {
				assertions.Annotations_FromStack(stacks[name]).HasNoError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*")))
			})
		})
	}
}
