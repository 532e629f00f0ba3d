package awsid

import (
	"fmt"
	"regexp"
	"strings"
)

// Image Builder workflow identifiers, with the patterns of the Image Builder
// API reference (GetWorkflowStepExecution, SendWorkflowStepAction,
// WorkflowStepExecution).
var (
	stepExecutionIDPattern     = regexp.MustCompile(`^step-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	workflowExecutionIDPattern = regexp.MustCompile(`^wf-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	workflowStepNamePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-_]{1,99}$`)
	buildVersionPattern        = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)
	buildNumberPattern         = regexp.MustCompile(`^[0-9]+$`)
)

// IsWorkflowStepExecutionID says whether s is a workflow step execution ID,
// step-<UUID>.
func IsWorkflowStepExecutionID(s string) bool { return stepExecutionIDPattern.MatchString(s) }

// IsWorkflowExecutionID says whether s is a workflow execution ID, wf-<UUID>.
func IsWorkflowExecutionID(s string) bool { return workflowExecutionIDPattern.MatchString(s) }

// IsWorkflowStepName says whether s is a step name a workflow document
// accepts.
func IsWorkflowStepName(s string) bool { return workflowStepNamePattern.MatchString(s) }

// ParseImageBuildVersionARN checks that s is the ARN of one build of an
// image, arn:PARTITION:imagebuilder:REGION:ACCOUNT:image/NAME/X.Y.Z/BUILD:
// what SendWorkflowStepAction takes (an image version ARN, without the
// build, is refused).
func ParseImageBuildVersionARN(s string) (ImageARN, error) {
	const what = "an Image Builder image build version ARN (arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/X.Y.Z/BUILD)"
	im, err := ParseImageBuilderImageARN(s)
	if err != nil {
		return ImageARN{}, err
	}
	if !buildVersionPattern.MatchString(im.Version) || !buildNumberPattern.MatchString(im.Build) {
		return ImageARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return im, nil
}

// IsImageBuilderWorkflowARN says whether s is an Image Builder workflow
// ARN, arn:PARTITION:imagebuilder:REGION:ACCOUNT:workflow/TYPE/NAME/….
func IsImageBuilderWorkflowARN(s string) bool {
	a, err := parseARN(s, "imagebuilder", "a workflow ARN")
	return err == nil && strings.HasPrefix(a.Resource, "workflow/")
}
