package stacks

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// A grant made after NewFunction returns is waited for: the function is not
// created before the policy that holds it, so it never runs without it.
func TestFunctionWaitsForPoliciesAddedLater(t *testing.T) {
	stack := awscdk.NewStack(awscdk.NewApp(nil), jsii.String("Later"), nil)
	fn := NewFunction(stack, "Later", &FunctionProps{Name: RootVolumeFunctions[0], AssetDir: assetDir})
	queue := awssqs.NewQueue(stack, jsii.String("Queue"), nil)
	queue.GrantSendMessages(fn.Function)

	tmpl := assertions.Template_FromStack(stack, nil)
	policies := tmpl.FindResources(jsii.String("AWS::IAM::Policy"), nil)
	if len(*policies) != 1 {
		t.Fatalf("policies = %d, want 1 (the role's default policy)", len(*policies))
	}
	var policyID string
	for id := range *policies {
		policyID = id
	}
	functions := tmpl.FindResources(jsii.String("AWS::Lambda::Function"), nil)
	for id, res := range *functions {
		deps, _ := (*res)["DependsOn"].([]any)
		found := false
		for _, d := range deps {
			found = found || d == policyID
		}
		if !found {
			t.Errorf("function %s DependsOn = %v, want it to include the policy %s granted after NewFunction", id, deps, policyID)
		}
	}
}
