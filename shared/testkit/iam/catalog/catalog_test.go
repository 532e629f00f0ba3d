package catalog

import (
	"slices"
	"strings"
	"testing"
)

// wanted is every IAM action the suite's functions (and the tests' setup
// principals) call.
var wanted = map[string][]string{
	"ec2": {"CreateReplaceRootVolumeTask", "CreateSnapshot", "CreateTags", "DeleteSnapshot", "DeleteTags",
		"DeleteVolume", "DescribeImages", "DescribeInstances", "DescribeReplaceRootVolumeTasks", "DescribeSnapshots",
		"DescribeVolumes", "DescribeLockedSnapshots", "ListImagesInRecycleBin", "ModifyImageAttribute", "ModifySnapshotAttribute",
		"DescribeTags", "CreateVolume", "RunInstances"},
	"cloudwatch": {"DeleteAlarms", "DescribeAlarms", "GetMetricData", "ListMetrics", "PutMetricAlarm",
		"TagResource", "UntagResource", "ListTagsForResource", "PutMetricData"},
	"codepipeline":   {"GetPipeline", "GetPipelineState", "PutJobFailureResult", "PutJobSuccessResult", "RetryStageExecution"},
	"dynamodb":       {"GetItem", "PutItem", "Scan", "UpdateItem", "DeleteItem", "ConditionCheckItem", "Query", "BatchWriteItem"},
	"health":         {"DescribeEvents", "DescribeEventsForOrganization", "DescribeAffectedAccountsForOrganization", "DescribeEventDetails", "DescribeAffectedEntities"},
	"imagebuilder":   {"GetImage", "GetWorkflowStepExecution", "SendWorkflowStepAction", "ListWorkflowStepExecutions"},
	"kms":            {"DescribeKey", "GenerateMac", "VerifyMac", "Decrypt", "GenerateDataKey"},
	"organizations":  {"ListAccounts"},
	"scheduler":      {"CreateSchedule", "DeleteSchedule", "GetSchedule", "ListSchedules"},
	"sns":            {"Publish", "Subscribe", "ListSubscriptionsByTopic", "GetTopicAttributes"},
	"sqs":            {"SendMessage", "GetQueueAttributes", "GetQueueUrl", "ReceiveMessage", "DeleteMessage", "TagQueue", "ListQueueTags"},
	"events":         {"PutEvents"},
	"iam":            {"PassRole"},
	"ses":            {"SendEmail"},
	"secretsmanager": {"GetSecretValue"},
	"sts":            {"GetCallerIdentity"},
}

func load(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func action(t *testing.T, c *Catalog, name string) Action {
	t.Helper()
	a, ok := c.Action(name)
	if !ok {
		t.Fatalf("%s not in the catalogue", name)
	}
	return a
}

// resources renders an action's resource list as "type*" / "type".
func resources(a Action) []string {
	var out []string
	for _, r := range a.Resources {
		s := r.Type.Name
		if r.Required {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func TestLoadsAndHasEveryWantedAction(t *testing.T) {
	c := load(t)
	if c.Source == "" {
		t.Error("empty Source")
	}
	n := 0
	for svc, names := range wanted {
		for _, name := range names {
			n++
			a := action(t, c, svc+":"+name)
			if a.Name != svc+":"+name {
				t.Errorf("Name = %q, want %q", a.Name, svc+":"+name)
			}
			if a.Service != svc || a.Access == "" || !strings.HasPrefix(a.Page, pagePrefix) {
				t.Errorf("%s: Service %q Access %q Page %q", a.Name, a.Service, a.Access, a.Page)
			}
		}
	}
	if got := len(c.Actions()); got != n {
		t.Errorf("catalogue has %d actions, the suite wants %d: keep them in step", got, n)
	}
	MustLoad() // must not panic
}

func TestActionsSorted(t *testing.T) {
	as := load(t).Actions()
	if !slices.IsSortedFunc(as, func(a, b Action) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("Actions() is not sorted by name")
	}
}

func TestActionLookupIsCaseInsensitive(t *testing.T) {
	c := load(t)
	for _, n := range []string{"ec2:deletevolume", "ec2:DELETEVOLUME", "EC2:DeleteVolume"} {
		if a, ok := c.Action(n); !ok || a.Name != "ec2:DeleteVolume" {
			t.Errorf("Action(%q) = %q, %v", n, a.Name, ok)
		}
	}
	for _, n := range []string{"ec2:DeleteVolumes", "DeleteVolume", "dynamodb:TransactWriteItems", ""} {
		if _, ok := c.Action(n); ok {
			t.Errorf("Action(%q) found", n)
		}
	}
}

func TestSpotChecks(t *testing.T) {
	c := load(t)
	cases := []struct {
		action string
		want   []string // resource types; "*" marks required
	}{
		{"ec2:DeleteVolume", []string{"volume*"}},
		{"ec2:DeleteSnapshot", []string{"snapshot*"}},
		{"ec2:DescribeVolumes", nil},
		{"ec2:ModifySnapshotAttribute", []string{"snapshot*"}},
		{"ec2:ModifyImageAttribute", []string{"image*"}},
		{"imagebuilder:SendWorkflowStepAction", []string{"image*", "workflowStepExecution*"}},
		{"imagebuilder:GetWorkflowStepExecution", []string{"workflowStepExecution*"}},
		{"imagebuilder:ListWorkflowStepExecutions", []string{"workflowExecution*"}},
		{"codepipeline:RetryStageExecution", []string{"stage*"}},
		{"codepipeline:GetPipelineState", []string{"pipeline*"}},
		{"codepipeline:PutJobSuccessResult", nil},
		{"sns:Publish", []string{"topic*"}},
		{"dynamodb:PutItem", []string{"table*"}},
		{"dynamodb:Query", []string{"index", "table*"}},
		{"sqs:GetQueueUrl", []string{"queue*"}},
		{"kms:GenerateMac", []string{"key*"}},
		{"iam:PassRole", []string{"role*"}},
		{"secretsmanager:GetSecretValue", []string{"Secret*"}},
		{"sts:GetCallerIdentity", nil},
	}
	for _, tc := range cases {
		got := resources(action(t, c, tc.action))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s resources = %v, want %v", tc.action, got, tc.want)
		}
	}

	rrvt := action(t, c, "ec2:CreateReplaceRootVolumeTask")
	for _, want := range []string{"instance*", "replace-root-volume-task*"} {
		if !slices.Contains(resources(rrvt), want) {
			t.Errorf("ec2:CreateReplaceRootVolumeTask resources %v lack %s", resources(rrvt), want)
		}
	}

	wse := action(t, c, "imagebuilder:GetWorkflowStepExecution").Resources[0].Type
	if want := "arn:${Partition}:imagebuilder:${Region}:${Account}:workflow-step-execution/${WorkflowStepExecutionId}"; wse.ARN != want {
		t.Errorf("workflowStepExecution ARN = %q, want %q", wse.ARN, want)
	}
	stage, _ := c.ResourceType("codepipeline", "stage")
	if want := "arn:${Partition}:codepipeline:${Region}:${Account}:${PipelineName}/${StageName}"; stage.ARN != want {
		t.Errorf("codepipeline stage ARN = %q, want %q", stage.ARN, want)
	}
	img, _ := c.ResourceType("imagebuilder", "image")
	if want := "arn:${Partition}:imagebuilder:${Region}:${Account}:image/${ImageName}/${ImageVersion}/${ImageBuildVersion}"; img.ARN != want {
		t.Errorf("imagebuilder image ARN = %q, want %q", img.ARN, want)
	}
	for _, rt := range []string{"instance", "volume", "snapshot", "image", "replace-root-volume-task"} {
		if _, ok := c.ResourceType("ec2", rt); !ok {
			t.Errorf("ec2 resource type %s missing", rt)
		}
	}

	if ct := action(t, c, "ec2:CreateTags"); !slices.Contains(ct.ConditionKeys, "ec2:CreateAction") || len(ct.RequiredResources()) != 0 {
		t.Errorf("ec2:CreateTags: keys %v, required %v", ct.ConditionKeys, ct.RequiredResources())
	}
	if cs := action(t, c, "scheduler:CreateSchedule"); !slices.Contains(cs.DependentActions, "iam:PassRole") {
		t.Errorf("scheduler:CreateSchedule dependent actions = %v", cs.DependentActions)
	}
	if ri := action(t, c, "ec2:RunInstances"); len(ri.Scenarios) == 0 {
		t.Error("ec2:RunInstances has no scenarios")
	}
}

func TestKeys(t *testing.T) {
	c := load(t)
	a := action(t, c, "ec2:DeleteVolume")
	keys := a.Keys()
	for _, want := range []string{"ec2:Region", "ec2:VolumeType", "aws:ResourceTag/${TagKey}", "ec2:Encrypted"} {
		if !slices.Contains(keys, want) {
			t.Errorf("ec2:DeleteVolume Keys() lacks %s: %v", want, keys)
		}
	}
	if !slices.IsSorted(keys) || len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Errorf("Keys() not sorted and unique: %v", keys)
	}
	if k := action(t, c, "sts:GetCallerIdentity").Keys(); len(k) != 0 {
		t.Errorf("sts:GetCallerIdentity Keys() = %v", k)
	}
	// Returned values are copies.
	a.Resources[0].Type.ConditionKeys[0] = "x:y"
	a.ConditionKeys = append(a.ConditionKeys[:0], "x:z")
	if again := action(t, c, "ec2:DeleteVolume"); slices.Contains(again.Keys(), "x:y") || slices.Contains(again.Keys(), "x:z") {
		t.Error("mutating a returned Action changed the catalogue")
	}
}

func TestEveryARNFormats(t *testing.T) {
	c := load(t)
	for _, a := range c.Actions() {
		for _, r := range a.Resources {
			vars := map[string]string{}
			names, err := templateVars(r.Type.ARN)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				vars[n] = "x"
			}
			vars["Partition"] = "aws"
			arn, err := FormatARN(r.Type.ARN, vars)
			if err != nil || !strings.HasPrefix(arn, "arn:aws:") || strings.Contains(arn, "${") {
				t.Errorf("%s %s: FormatARN = %q, %v", a.Name, r.Type.Name, arn, err)
			}
		}
	}
}

func TestActionsFor(t *testing.T) {
	c := load(t)
	got, ok := c.ActionsFor("dynamodb", "TransactWriteItems")
	want := []string{"dynamodb:ConditionCheckItem", "dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
	if !ok || !slices.Equal(got, want) {
		t.Errorf("ActionsFor(dynamodb, TransactWriteItems) = %v, %v", got, ok)
	}
	if op, ok := c.Operation("dynamodb", "TransactWriteItems"); !ok || op.Note == "" {
		t.Errorf("Operation(dynamodb, TransactWriteItems) = %+v, %v", op, ok)
	}
	if got, ok := c.ActionsFor("ec2", "DeleteVolume"); !ok || !slices.Equal(got, []string{"ec2:DeleteVolume"}) {
		t.Errorf("ActionsFor(ec2, DeleteVolume) = %v, %v", got, ok)
	}
	if _, ok := c.ActionsFor("ec2", "NoSuchCall"); ok {
		t.Error("ActionsFor(ec2, NoSuchCall) found")
	}
}

func TestFormatARN(t *testing.T) {
	got, err := FormatARN("arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}",
		map[string]string{"Partition": "aws", "Region": "us-east-1", "Account": "123", "VolumeId": "vol-1"})
	if err != nil || got != "arn:aws:ec2:us-east-1:123:volume/vol-1" {
		t.Errorf("FormatARN = %q, %v", got, err)
	}
	got, err = FormatARN("arn:${Partition}:ec2:${Region}::snapshot/${SnapshotId}",
		map[string]string{"Partition": "aws", "Region": "eu-west-1", "SnapshotId": "snap-${X}", "Unused": "u"})
	if err != nil || got != "arn:aws:ec2:eu-west-1::snapshot/snap-${X}" {
		t.Errorf("FormatARN with a ${ in a value = %q, %v", got, err)
	}

	_, err = FormatARN("arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}",
		map[string]string{"Partition": "aws", "Region": "us-east-1"})
	if err == nil || !strings.Contains(err.Error(), "${Account}") || !strings.Contains(err.Error(), "${VolumeId}") {
		t.Errorf("FormatARN with leftovers: err = %v", err)
	}
	if _, err := FormatARN("arn:${Partition", map[string]string{"Partition": "aws"}); err == nil {
		t.Error("unterminated ${ accepted")
	}
	if _, err := FormatARN("arn:${}:x", nil); err == nil {
		t.Error("empty ${} accepted")
	}
}

func TestParseRejects(t *testing.T) {
	const good = `{"source":"s","services":{"ec2":{"name":"n","page":"` + pagePrefix + `list_ec2.html",
		"resourceTypes":{"volume":{"arn":"arn:${Partition}:ec2:${Region}:${Account}:volume/${VolumeId}","conditionKeys":[]}},
		"actions":{"DeleteVolume":{"access":"Write","resources":[{"type":"volume","required":true}],
		"conditionKeys":[],"dependentActions":[],"note":""}}}}}`
	if _, err := parse([]byte(good)); err != nil {
		t.Fatalf("good file rejected: %v", err)
	}
	cases := map[string][2]string{
		"unknown resource type": {`{"type":"volume","required":true}`, `{"type":"snapshot","required":true}`},
		"bad ARN prefix":        {`"arn":"arn:${Partition}:ec2`, `"arn":"arn:aws:ec2`},
		"empty page":            {`"page":"` + pagePrefix + `list_ec2.html"`, `"page":""`},
		"bad access":            {`"access":"Write"`, `"access":"Writes"`},
		"empty source":          {`"source":"s"`, `"source":""`},
		"unknown field":         {`"note":""`, `"note":"","extra":1`},
		"bad dependent action":  {`"dependentActions":[]`, `"dependentActions":["PassRole"]`},
		"bad condition key":     {`"conditionKeys":[],"dependentActions"`, `"conditionKeys":["Region"],"dependentActions"`},
		"duplicate resource":    {`[{"type":"volume","required":true}]`, `[{"type":"volume","required":true},{"type":"volume","required":false}]`},
	}
	for name, tc := range cases {
		bad := strings.Replace(good, tc[0], tc[1], 1)
		if bad == good {
			t.Fatalf("%s: replacement did not apply", name)
		}
		if _, err := parse([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	withOp := strings.Replace(good, `"actions":{`, `"operations":{"Batch":{"actions":["ec2:Nope"],"note":""}},"actions":{`, 1)
	if _, err := parse([]byte(withOp)); err == nil || !strings.Contains(err.Error(), "ec2:Nope") {
		t.Errorf("operation naming an unknown action: err = %v", err)
	}
}
