package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// assetDir holds a dummy bootstrap per function: the tests check templates,
// so they need no built binaries.
var assetDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambda-suite-assets-")
	if err == nil {
		err = writeFakeAssets(dir, slices.Concat(RootVolumeFunctions, HealthGateFunctions, ApprovalFunctions, DiskAlarmFunctions)...)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake assets:", err)
		os.Exit(1)
	}
	assetDir = dir

	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func writeFakeAssets(dir string, names ...string) error {
	for _, name := range names {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name, "bootstrap"), []byte("not a binary"), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// synth builds one stack in a new app and returns its template.
func synth[P any](t *testing.T, build func(constructs.Construct, string, *P) (awscdk.Stack, error), id string, props *P) assertions.Template {
	t.Helper()
	stack, err := build(awscdk.NewApp(nil), id, props)
	if err != nil {
		t.Fatalf("synthesize %s: %v", id, err)
	}
	return assertions.Template_FromStack(stack, nil)
}

// synthRootVolume synthesizes a root-volume stack from props, with the fake
// assets unless props name others.
func synthRootVolume(t *testing.T, props RootVolumeStackProps) assertions.Template {
	t.Helper()
	if props.AssetDir == "" {
		props.AssetDir = assetDir
	}
	return synth(t, NewRootVolumeStack, "RootVolume", &props)
}

// checkResourceCounts asserts how many resources of each type tmpl has.
func checkResourceCounts(t *testing.T, tmpl assertions.Template, want map[string]int) {
	t.Helper()
	for typ, n := range want {
		t.Run(typ, func(t *testing.T) {
			check(t, func() { tmpl.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
		})
	}
}

// onceTemplate keeps the template of a stack synthesized on first use:
// each synth costs seconds of jsii, and most tests read the default stacks.
// Every stack it builds carries cdk-nag's AwsSolutionsChecks, read by
// TestCDKNag from the same synthesis.
type onceTemplate struct {
	once  sync.Once
	stack awscdk.Stack
	tmpl  assertions.Template
	err   error
}

func (o *onceTemplate) get(t *testing.T, build func() (awscdk.Stack, error)) assertions.Template {
	t.Helper()
	o.once.Do(func() {
		stack, err := build()
		if err != nil {
			o.err = err
			return
		}
		withNagChecks(stack)
		o.stack, o.tmpl = stack, assertions.Template_FromStack(stack, nil)
	})
	if o.err != nil {
		t.Fatalf("synthesize: %v", o.err)
	}
	return o.tmpl
}

var rootVolumeDefault onceTemplate

func defaultRootVolume(t *testing.T) assertions.Template {
	t.Helper()
	return rootVolumeDefault.get(t, func() (awscdk.Stack, error) {
		return NewRootVolumeStack(awscdk.NewApp(nil), "RootVolume", &RootVolumeStackProps{AssetDir: assetDir})
	})
}

// suiteTemplates returns the template of every stack the CDK app deploys, by
// stack, with default props. Later capabilities add their stacks here.
func suiteTemplates(t *testing.T) map[string]map[string]any {
	t.Helper()
	return map[string]map[string]any{
		"RootVolume":     *defaultRootVolume(t).ToJSON(),
		"PipelineHealth": *defaultHealthGate(t).ToJSON(),
		"AmiApproval":    *defaultApproval(t).ToJSON(),
		"DiskAlarm":      *defaultDiskAlarm(t).ToJSON(),
	}
}

// check runs a CDK assertion, which reports a mismatch by panicking through
// jsii, and turns the panic into a test error at the caller's line.
func check(t *testing.T, assertion func()) {
	t.Helper()
	if failure := recovered(assertion); failure != nil {
		t.Error(failure)
	}
}

func recovered(f func()) (failure any) {
	defer func() { failure = recover() }()
	f()
	return nil
}

// resources returns the template's resources of one type, by logical ID.
func resources(tmpl assertions.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, res := range *tmpl.FindResources(jsii.String(typ), nil) {
		out[id] = *res
	}
	return out
}

// functionID returns the logical ID of the function built from folder name.
func functionID(t *testing.T, tmpl assertions.Template, name string) string {
	t.Helper()
	var id *string
	check(t, func() {
		id = tmpl.GetResourceId(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Metadata": map[string]any{FunctionMetadataKey: name},
		})
	})
	if id == nil {
		t.Fatalf("no function with %s %q", FunctionMetadataKey, name)
	}
	return *id
}

// cfnARN is how the template writes the ARN s, given in Fn::Sub syntax
// ("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:volume/*"):
// Stack.FormatArn joins the literal parts and a Ref for each ${Name}. The
// tests spell each ARN in full, so the string an expectation names is the
// ARN itself, whatever the encoding.
func cfnARN(s string) any {
	var parts []any
	last := 0
	for _, m := range subVariable.FindAllStringSubmatchIndex(s, -1) {
		if m[0] > last {
			parts = append(parts, s[last:m[0]])
		}
		parts = append(parts, map[string]any{"Ref": s[m[2]:m[3]]})
		last = m[1]
	}
	if last < len(s) {
		parts = append(parts, s[last:])
	}
	return map[string]any{"Fn::Join": []any{"", parts}}
}

// checkRecordTable asserts that tmpl's table is built as newRecordTable
// builds the tables of records the suite trusts.
func checkRecordTable(t *testing.T, tmpl assertions.Template) {
	t.Helper()
	check(t, func() {
		tmpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": map[string]any{
				"KeySchema":                        []any{map[string]any{"AttributeName": "id", "KeyType": "HASH"}},
				"AttributeDefinitions":             []any{map[string]any{"AttributeName": "id", "AttributeType": "S"}},
				"BillingMode":                      "PAY_PER_REQUEST",
				"TimeToLiveSpecification":          map[string]any{"AttributeName": "expiresAt", "Enabled": true},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"SSESpecification":                 map[string]any{"SSEEnabled": true},
				"DeletionProtectionEnabled":        true,
			},
		})
	})
}
