package stacks

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/google/go-cmp/cmp"
)

const (
	testOrgID = "o-a1b2c3d4e5"
	testOU1   = "ou-ab12-11111111"
	testOU2   = "ou-ab12-22222222"
)

func testOrgProps() OrgRolloutProps {
	return OrgRolloutProps{
		AssetDir:                   assetDir,
		OrganizationID:             testOrgID,
		TargetOUs:                  []string{testOU1, testOU2},
		Regions:                    []string{"eu-west-1", "us-east-1"},
		MaxConcurrentPercentage:    30,
		FailureTolerancePercentage: 5,
	}
}

// orgTemplates are the templates of the default rollout: the StackSets
// stack, the asset stack of each Region, and each StackSet's own template.
type orgTemplates struct {
	stacks    []awscdk.Stack // the rollout's stacks, with cdk-nag's checks
	stackSets assertions.Template
	assets    map[string]assertions.Template
	stackSet  map[string]map[string]any
}

var (
	orgDefaultOnce sync.Once
	orgDefault     orgTemplates
	orgDefaultErr  error
)

func synthOrgRollout(props OrgRolloutProps) (orgTemplates, error) {
	r, err := NewOrgRollout(awscdk.NewApp(nil), &props)
	if err != nil {
		return orgTemplates{}, err
	}
	out := orgTemplates{stacks: []awscdk.Stack{r.StackSets}}
	withNagChecks(r.StackSets)
	for _, s := range r.Assets {
		withNagChecks(s)
		out.stacks = append(out.stacks, s)
	}
	out = orgTemplates{
		stacks:    out.stacks,
		stackSets: assertions.Template_FromStack(r.StackSets, nil),
		assets:    map[string]assertions.Template{},
		stackSet:  r.Templates,
	}
	for region, s := range r.Assets {
		out.assets[region] = assertions.Template_FromStack(s, nil)
	}
	return out, nil
}

func defaultOrgRollout(t *testing.T) orgTemplates {
	t.Helper()
	orgDefaultOnce.Do(func() { orgDefault, orgDefaultErr = synthOrgRollout(testOrgProps()) })
	if orgDefaultErr != nil {
		t.Fatalf("synthesize the organization rollout: %v", orgDefaultErr)
	}
	return orgDefault
}

func TestOrgRolloutStackSets(t *testing.T) {
	tmpl := defaultOrgRollout(t).stackSets
	checkResourceCounts(t, tmpl, map[string]int{"AWS::CloudFormation::StackSet": 2})
	for _, capability := range OrgCapabilities {
		t.Run(capability, func(t *testing.T) {
			check(t, func() {
				tmpl.HasResource(jsii.String("AWS::CloudFormation::StackSet"), map[string]any{
					"Properties": map[string]any{
						"StackSetName":     "lambda-suite-" + capability,
						"PermissionModel":  "SERVICE_MANAGED",
						"CallAs":           "SELF",
						"AutoDeployment":   map[string]any{"Enabled": true, "RetainStacksOnAccountRemoval": false},
						"Capabilities":     []any{"CAPABILITY_IAM"},
						"ManagedExecution": map[string]any{"Active": true},
						"OperationPreferences": assertions.Match_ObjectEquals(&map[string]any{
							"MaxConcurrentPercentage":    30,
							"FailureTolerancePercentage": 5,
							"ConcurrencyMode":            "SOFT_FAILURE_TOLERANCE",
							"RegionConcurrencyType":      "SEQUENTIAL",
						}),
						"StackInstancesGroup": assertions.Match_ArrayEquals(&[]any{map[string]any{
							"DeploymentTargets": assertions.Match_ObjectEquals(&map[string]any{
								"OrganizationalUnitIds": []any{testOU1, testOU2},
							}),
							"Regions": []any{"eu-west-1", "us-east-1"},
						}}),
						"Parameters": []any{map[string]any{
							"ParameterKey":   "AssetAccountId",
							"ParameterValue": map[string]any{"Ref": "AWS::AccountId"},
						}},
					},
				})
			})
		})
	}
}

// A StackSet's logical ID must never change: a replaced StackSet deletes
// every stack instance in every account.
func TestOrgRolloutLogicalIDs(t *testing.T) {
	got := []string{}
	for id := range resources(defaultOrgRollout(t).stackSets, "AWS::CloudFormation::StackSet") {
		got = append(got, id)
	}
	slices.Sort(got)
	want := []string{"LambdaSuiteDiskAlarmStackSet", "LambdaSuiteRootVolumeStackSet"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("StackSet logical IDs (-want +got):\n%s", diff)
	}
	for region, tmpl := range defaultOrgRollout(t).assets {
		if _, ok := resources(tmpl, "AWS::S3::Bucket")["OrgAssetBucket"]; !ok {
			t.Errorf("asset stack %s: no bucket with the logical ID OrgAssetBucket", region)
		}
	}
}

// The StackSet's template is the capability's own stack, reading its code
// from the organization's bucket in the instance's Region, under keys the
// asset stacks copy there, with nothing of the CDK bootstrap left.
func TestOrgRolloutStackSetTemplates(t *testing.T) {
	org := defaultOrgRollout(t)
	deployed := map[string]bool{}
	for _, res := range resources(org.assets["eu-west-1"], "Custom::CDKBucketDeployment") {
		props := res["Properties"].(map[string]any)
		if props["Extract"] != false {
			t.Errorf("bucket deployment Extract = %v, want false (Lambda reads the zip)", props["Extract"])
		}
		for _, k := range props["SourceObjectKeys"].([]any) {
			deployed[k.(string)] = true
		}
	}
	wantBucket := map[string]any{"Fn::Sub": "lambda-suite-org-assets-${AssetAccountId}-${AWS::Region}"}
	for capability, functions := range map[string][]string{
		CapabilityRootVolume: RootVolumeFunctions,
		CapabilityDiskAlarm:  DiskAlarmFunctions,
	} {
		t.Run(capability, func(t *testing.T) {
			tmpl := org.stackSet[capability]
			params, _ := tmpl["Parameters"].(map[string]any)
			if _, ok := params["AssetAccountId"]; !ok {
				t.Errorf("parameters %v: want AssetAccountId", params)
			}
			if _, ok := params["BootstrapVersion"]; ok {
				t.Error("the template checks the CDK bootstrap version, which member accounts do not have")
			}
			var names []string
			for _, r := range tmpl["Resources"].(map[string]any) {
				res := r.(map[string]any)
				if res["Type"] != "AWS::Lambda::Function" {
					continue
				}
				names = append(names, res["Metadata"].(map[string]any)[FunctionMetadataKey].(string))
				code := res["Properties"].(map[string]any)["Code"].(map[string]any)
				if diff := cmp.Diff(wantBucket, code["S3Bucket"]); diff != "" {
					t.Errorf("Code.S3Bucket (-want +got):\n%s", diff)
				}
				if key, _ := code["S3Key"].(string); !deployed[key] {
					t.Errorf("Code.S3Key %q is not among the keys the asset stack deploys %v", key, deployed)
				}
			}
			slices.Sort(names)
			want := slices.Sorted(slices.Values(functions))
			if diff := cmp.Diff(want, names); diff != "" {
				t.Errorf("functions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestOrgRolloutAssetBucket(t *testing.T) {
	for region, tmpl := range defaultOrgRollout(t).assets {
		t.Run(region, func(t *testing.T) {
			check(t, func() {
				tmpl.HasResource(jsii.String("AWS::S3::Bucket"), map[string]any{
					"DeletionPolicy": "Retain",
					"Properties": map[string]any{
						"BucketName": map[string]any{"Fn::Sub": "lambda-suite-org-assets-${AWS::AccountId}-${AWS::Region}"},
						"PublicAccessBlockConfiguration": map[string]any{
							"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
						},
						"BucketEncryption": map[string]any{"ServerSideEncryptionConfiguration": []any{
							map[string]any{"ServerSideEncryptionByDefault": map[string]any{"SSEAlgorithm": "AES256"}},
						}},
					},
				})
			})
			// Exactly two statements: TLS only, and reads by the
			// organization only.
			check(t, func() {
				tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
					"Bucket": map[string]any{"Ref": "OrgAssetBucket"},
					"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayEquals(&[]any{
						map[string]any{
							"Effect":    "Deny",
							"Principal": map[string]any{"AWS": "*"},
							"Action":    "s3:*",
							"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
							"Resource": []any{
								map[string]any{"Fn::GetAtt": []any{"OrgAssetBucket", "Arn"}},
								map[string]any{"Fn::Join": []any{"", []any{map[string]any{"Fn::GetAtt": []any{"OrgAssetBucket", "Arn"}}, "/*"}}},
							},
						},
						map[string]any{
							"Sid":       "OrganizationReadsCode",
							"Effect":    "Allow",
							"Principal": map[string]any{"AWS": "*"},
							"Action":    []any{"s3:GetObject", "s3:GetObjectVersion"},
							"Resource": map[string]any{"Fn::Join": []any{"", []any{
								map[string]any{"Fn::GetAtt": []any{"OrgAssetBucket", "Arn"}}, "/*",
							}}},
							"Condition": assertions.Match_ObjectEquals(&map[string]any{
								"StringEquals": map[string]any{"aws:PrincipalOrgID": testOrgID},
							}),
						},
					})},
				})
			})
		})
	}
}

func TestOrgRolloutAssetStacksAreRegional(t *testing.T) {
	r, err := NewOrgRollout(awscdk.NewApp(nil), new(testOrgProps()))
	if err != nil {
		t.Fatal(err)
	}
	for region, stack := range r.Assets {
		if got := *stack.Region(); got != region {
			t.Errorf("asset stack %s: Region = %s, want %s", *stack.StackName(), got, region)
		}
		if got, want := *stack.StackName(), OrgAssetsStackPrefix+region; got != want {
			t.Errorf("asset stack name = %s, want %s", got, want)
		}
	}
	var deps []string
	for _, d := range *r.StackSets.Dependencies() {
		deps = append(deps, *d.StackName())
	}
	slices.Sort(deps)
	if diff := cmp.Diff([]string{"LambdaSuiteOrgAssets-eu-west-1", "LambdaSuiteOrgAssets-us-east-1"}, deps); diff != "" {
		t.Errorf("the StackSets stack must deploy after every asset stack (-want +got):\n%s", diff)
	}
}

func TestOrgRolloutOneCapability(t *testing.T) {
	props := testOrgProps()
	props.Capabilities = []string{CapabilityDiskAlarm}
	props.CallAs = "DELEGATED_ADMIN"
	org, err := synthOrgRollout(props)
	if err != nil {
		t.Fatal(err)
	}
	checkResourceCounts(t, org.stackSets, map[string]int{"AWS::CloudFormation::StackSet": 1})
	check(t, func() {
		org.stackSets.HasResourceProperties(jsii.String("AWS::CloudFormation::StackSet"), map[string]any{
			"StackSetName": "lambda-suite-disk-alarm",
			"CallAs":       "DELEGATED_ADMIN",
		})
	})
	for _, res := range resources(org.assets["us-east-1"], "Custom::CDKBucketDeployment") {
		if n := len(res["Properties"].(map[string]any)["SourceObjectKeys"].([]any)); n != len(DiskAlarmFunctions) {
			t.Errorf("deployed zips = %d, want %d (ebs-alarms only)", n, len(DiskAlarmFunctions))
		}
	}
}

func TestOrgRolloutRejects(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*OrgRolloutProps)
		wants []string
	}{
		{"no organization", func(p *OrgRolloutProps) { p.OrganizationID = "" }, []string{"organization ID"}},
		{"account for organization", func(p *OrgRolloutProps) { p.OrganizationID = "123456789012" }, []string{"organization ID"}},
		{"no OUs", func(p *OrgRolloutProps) { p.TargetOUs = nil }, []string{"target OUs"}},
		{"account for OU", func(p *OrgRolloutProps) { p.TargetOUs = []string{"123456789012"} }, []string{`target OU "123456789012"`}},
		{"no regions", func(p *OrgRolloutProps) { p.Regions = nil }, []string{"regions"}},
		{"bad region", func(p *OrgRolloutProps) { p.Regions = []string{"eu-west-1", "Ireland"} }, []string{`region "Ireland"`}},
		{"region twice", func(p *OrgRolloutProps) { p.Regions = []string{"eu-west-1", "eu-west-1"} }, []string{"named twice"}},
		{"central capability", func(p *OrgRolloutProps) { p.Capabilities = []string{"ami-approval"} }, []string{`capability "ami-approval"`, "tooling account"}},
		{"concurrency", func(p *OrgRolloutProps) { p.MaxConcurrentPercentage = 101 }, []string{"max concurrent percentage 101"}},
		{"tolerance", func(p *OrgRolloutProps) { p.FailureTolerancePercentage = -1 }, []string{"failure tolerance percentage -1"}},
		{"call as", func(p *OrgRolloutProps) { p.CallAs = "ADMIN" }, []string{`call as "ADMIN"`}},
		{"every problem at once", func(p *OrgRolloutProps) { p.OrganizationID, p.Regions = "", nil }, []string{"organization ID", "regions"}},
		{"missing binaries", func(p *OrgRolloutProps) { p.AssetDir = t.TempDir() }, []string{"make build"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			props := testOrgProps()
			tt.edit(&props)
			_, err := NewOrgRollout(awscdk.NewApp(nil), &props)
			if err == nil {
				t.Fatalf("NewOrgRollout(%s) = nil error, want one naming %q", tt.name, tt.wants)
			}
			for _, want := range tt.wants {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("NewOrgRollout(%s) = %v, want an error naming %q", tt.name, err, want)
				}
			}
		})
	}
}

// TestOrgRolloutCfnLint lints what the rollout synthesizes: the StackSets
// stack, an asset stack, and the templates the StackSets deploy.
func TestOrgRolloutCfnLint(t *testing.T) {
	org := defaultOrgRollout(t)
	cfnLintTemplates(t, nil, map[string]map[string]any{
		"OrgStackSets":      *org.stackSets.ToJSON(),
		"OrgAssetsEuWest1":  *org.assets["eu-west-1"].ToJSON(),
		"StackSetRootVol":   org.stackSet[CapabilityRootVolume],
		"StackSetDiskAlarm": org.stackSet[CapabilityDiskAlarm],
	})
}
