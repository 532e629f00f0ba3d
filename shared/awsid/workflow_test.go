package awsid

import "testing"

func TestWorkflowIdentifiers(t *testing.T) {
	tests := []struct {
		name string
		f    func(string) bool
		in   string
		want bool
	}{
		{"step ID", IsWorkflowStepExecutionID, "step-0a1b2c3d-4e5f-6789-abcd-ef0123456789", true},
		{"step ID without prefix", IsWorkflowStepExecutionID, "0a1b2c3d-4e5f-6789-abcd-ef0123456789", false},
		{"step ID with a newline", IsWorkflowStepExecutionID, "step-0a1b2c3d-4e5f-6789-abcd-ef0123456789\n", false},
		{"workflow execution ID", IsWorkflowExecutionID, "wf-0a1b2c3d-4e5f-6789-abcd-ef0123456789", true},
		{"step ID as workflow execution ID", IsWorkflowExecutionID, "step-0a1b2c3d-4e5f-6789-abcd-ef0123456789", false},
		{"step name", IsWorkflowStepName, "ApproveImage", true},
		{"step name with a space", IsWorkflowStepName, "Approve image", false},
		{"workflow ARN", IsImageBuilderWorkflowARN, "arn:aws:imagebuilder:us-east-1:123456789012:workflow/build/approve/1.0.0/1", true},
		{"image ARN as workflow ARN", IsImageBuilderWorkflowARN, "arn:aws:imagebuilder:us-east-1:123456789012:image/golden/1.0.0/1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f(tt.in); got != tt.want {
				t.Errorf("%s(%q) = %v, want %v", tt.name, tt.in, got, tt.want)
			}
		})
	}
}

func TestParseImageBuildVersionARN(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2", true},
		{"arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4", false},
		{"arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/x.y.z/2", false},
		{"arn:aws:sns:us-east-1:123456789012:topic", false},
	} {
		if _, err := ParseImageBuildVersionARN(tt.in); (err == nil) != tt.ok {
			t.Errorf("ParseImageBuildVersionARN(%q) error = %v, want ok %v", tt.in, err, tt.ok)
		}
	}
}
