package iam

import (
	"fmt"
	"strings"
)

// need is one authorization a request needs: IAM authorizes a request once
// per resource it touches (and once more for each action it implies, such
// as ec2:CreateTags for tags on create, or iam:PassRole), and every one must
// be allowed.
type need struct {
	action string // "ec2:DeleteVolume"
	// typ is the catalogue's resource type of arn; "" when the action takes
	// no resource type (IAM evaluates it against "*").
	typ string
	arn string
	// keys are request-level condition keys (aws:RequestTag/..., aws:TagKeys, ...).
	keys map[string][]string
	// tagsOf names an EC2 resource ID whose tags become aws:ResourceTag/*
	// and ec2:ResourceTag/*, read from the local AWS at evaluation time.
	tagsOf string
	// rootOf names an instance whose current root volume is the resource
	// (CreateReplaceRootVolumeTask authorizes the volume it replaces), read
	// from the local AWS at evaluation time.
	rootOf string
	// item is a DynamoDB item or key (DynamoDB JSON) whose partition key
	// value becomes dynamodb:LeadingKeys, the table's key schema read from
	// the local AWS at evaluation time.
	item map[string]any
	// sesFrom is an SES sender whose identity (the address's own, or its
	// domain's) is the resource, read from the local AWS at evaluation time.
	sesFrom string
	// secretID is a secret's name or ARN whose full ARN is the resource,
	// read from the local AWS at evaluation time.
	secretID string
}

// arnOf builds an ARN in the call's partition, Region and account.
func (c *call) arnOf(service, region, account, resource string) string {
	return fmt.Sprintf("arn:%s:%s:%s:%s:%s", partitionOf(c.region), service, region, account, resource)
}

// partitionOf returns the partition of a Region.
func partitionOf(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	}
	return "aws"
}

// ec2Resource returns the catalogue type and ARN of an EC2 resource ID
// (the Service Authorization Reference's ARN formats: snapshots and images
// carry no account).
func (c *call) ec2Resource(id string) (typ, arn string, err error) {
	switch {
	case strings.HasPrefix(id, "i-"):
		return "instance", c.arnOf("ec2", c.region, c.account, "instance/"+id), nil
	case strings.HasPrefix(id, "vol-"):
		return "volume", c.arnOf("ec2", c.region, c.account, "volume/"+id), nil
	case strings.HasPrefix(id, "snap-"):
		return "snapshot", c.arnOf("ec2", c.region, "", "snapshot/"+id), nil
	case strings.HasPrefix(id, "ami-"):
		return "image", c.arnOf("ec2", c.region, "", "image/"+id), nil
	case strings.HasPrefix(id, "replacevol-"):
		return "replace-root-volume-task", c.arnOf("ec2", c.region, c.account, "replace-root-volume-task/"+id), nil
	}
	return "", "", fmt.Errorf("the IAM layer does not know the EC2 resource type of %q", id)
}

// tagKeys turns tags into the request's aws:RequestTag/<key> and
// aws:TagKeys condition keys.
func tagKeys(keys map[string][]string, tags [][2]string) map[string][]string {
	if keys == nil {
		keys = map[string][]string{}
	}
	for _, t := range tags {
		keys["aws:RequestTag/"+t[0]] = []string{t[1]}
		keys["aws:TagKeys"] = append(keys["aws:TagKeys"], t[0])
	}
	return keys
}

// queryTags reads Query-protocol tags: prefix.N.Key / prefix.N.Value.
func (c *call) queryTags(prefix string) [][2]string {
	var out [][2]string
	for i := 1; ; i++ {
		k, ok := c.form[fmt.Sprintf("%s.%d.Key", prefix, i)]
		if !ok || len(k) == 0 {
			return out
		}
		out = append(out, [2]string{k[0], c.form.Get(fmt.Sprintf("%s.%d.Value", prefix, i))})
	}
}

// tagSpecifications reads EC2's TagSpecification.N (ResourceType, Tag.M).
func (c *call) tagSpecifications() [][2]string {
	var out [][2]string
	for i := 1; c.form.Has(fmt.Sprintf("TagSpecification.%d.ResourceType", i)); i++ {
		out = append(out, c.queryTags(fmt.Sprintf("TagSpecification.%d.Tag", i))...)
	}
	return out
}

// needs returns what the call must be allowed, or an error naming what the
// layer cannot read: such a call is denied, never passed on.
func (c *call) needs() ([]need, error) {
	action := c.service + ":" + c.operation
	anyResource := []need{{action: action}}
	switch c.service {
	case "sts":
		if c.operation == "GetCallerIdentity" {
			return nil, nil // needs no permission (STS API reference)
		}
	case "ec2":
		return c.ec2Needs(action)
	case "monitoring", "cloudwatch":
		switch c.operation {
		case "DescribeAlarms", "ListMetrics", "GetMetricData", "PutMetricData", "DescribeAlarmHistory":
			return anyResource, nil
		case "PutMetricAlarm":
			keys := tagKeys(nil, c.queryTags("Tags.member"))
			return []need{{action: action, typ: "alarm", arn: c.arnOf("cloudwatch", c.region, c.account, "alarm:"+c.form.Get("AlarmName")), keys: keys}}, nil
		case "DeleteAlarms":
			var out []need
			for _, name := range c.list("AlarmNames.member") {
				out = append(out, need{action: action, typ: "alarm", arn: c.arnOf("cloudwatch", c.region, c.account, "alarm:"+name)})
			}
			return out, nil
		case "TagResource", "UntagResource", "ListTagsForResource":
			keys := tagKeys(nil, c.queryTags("Tags.member"))
			keys["aws:TagKeys"] = append(keys["aws:TagKeys"], c.list("TagKeys.member")...)
			return []need{{action: action, typ: "alarm", arn: c.form.Get("ResourceARN"), keys: keys}}, nil
		}
	case "sns":
		topic := c.form.Get("TopicArn")
		if topic == "" {
			topic = c.form.Get("TargetArn")
		}
		if topic == "" {
			break
		}
		n := need{action: action, typ: "topic", arn: topic}
		if c.operation == "Subscribe" {
			n.keys = map[string][]string{"sns:Protocol": {c.form.Get("Protocol")}}
			if e := c.form.Get("Endpoint"); e != "" {
				n.keys["sns:Endpoint"] = []string{e}
			}
		}
		return []need{n}, nil
	case "sqs":
		q := c.str("QueueUrl")
		if q == "" {
			break
		}
		arn, err := QueueARN(partitionOf(c.region), c.region, q)
		if err != nil {
			return nil, err
		}
		return []need{{action: action, typ: "queue", arn: arn}}, nil
	case "dynamodb":
		return c.dynamoNeeds(action)
	case "kms":
		key := c.str("KeyId")
		if key == "" {
			break
		}
		if !strings.HasPrefix(key, "arn:") {
			key = c.arnOf("kms", c.region, c.account, "key/"+key)
		}
		return []need{{action: action, typ: "key", arn: key}}, nil
	case "events":
		if c.operation != "PutEvents" {
			break
		}
		entries, _ := c.json["Entries"].([]any)
		var out []need
		for _, e := range entries {
			m, _ := e.(map[string]any)
			bus, _ := m["EventBusName"].(string)
			if bus == "" {
				bus = "default"
			}
			if !strings.HasPrefix(bus, "arn:") {
				bus = c.arnOf("events", c.region, c.account, "event-bus/"+bus)
			}
			src, _ := m["Source"].(string)
			dt, _ := m["DetailType"].(string)
			out = append(out, need{action: action, typ: "event-bus", arn: bus, keys: map[string][]string{"events:source": {src}, "events:detail-type": {dt}}})
		}
		return out, nil
	case "codepipeline":
		switch c.operation {
		case "PutJobSuccessResult", "PutJobFailureResult", "AcknowledgeJob", "GetJobDetails", "PollForJobs":
			return anyResource, nil
		case "GetPipeline", "GetPipelineState", "GetPipelineExecution", "ListPipelineExecutions":
			name := c.str("name")
			if name == "" {
				name = c.str("pipelineName")
			}
			return []need{{action: action, typ: "pipeline", arn: c.arnOf("codepipeline", c.region, c.account, name)}}, nil
		case "RetryStageExecution":
			return []need{{action: action, typ: "stage", arn: c.arnOf("codepipeline", c.region, c.account, c.str("pipelineName")+"/"+c.str("stageName"))}}, nil
		}
	case "health":
		return anyResource, nil
	case "imagebuilder":
		return c.imageBuilderNeeds(action)
	case "scheduler":
		if c.operation == "ListSchedules" {
			return anyResource, nil
		}
		if c.operation == "CreateSchedule" || c.operation == "UpdateSchedule" || c.operation == "DeleteSchedule" || c.operation == "GetSchedule" {
			group := c.str("GroupName")
			if group == "" {
				group = c.query.Get("groupName")
			}
			if group == "" {
				group = "default"
			}
			out := []need{{action: action, typ: "schedule", arn: c.arnOf("scheduler", c.region, c.account, "schedule/"+group+"/"+c.path[1])}}
			if role := c.str("Target", "RoleArn"); role != "" {
				out = append(out, need{action: "iam:PassRole", typ: "role", arn: role, keys: map[string][]string{"iam:PassedToService": {"scheduler.amazonaws.com"}}})
			}
			return out, nil
		}
	case "ses":
		if c.operation == "SendEmail" {
			return c.sesSendNeeds(action)
		}
	case "secretsmanager":
		if c.operation == "GetSecretValue" {
			id := c.str("SecretId")
			keys := map[string][]string{"secretsmanager:SecretId": {id}}
			if v := c.str("VersionId"); v != "" {
				keys["secretsmanager:VersionId"] = []string{v}
			}
			if v := c.str("VersionStage"); v != "" {
				keys["secretsmanager:VersionStage"] = []string{v}
			}
			// The secret's full ARN, read from the local AWS when the
			// request names it by name or partial ARN.
			return []need{{action: action, typ: "Secret", secretID: id, keys: keys}}, nil
		}
	}
	return nil, fmt.Errorf("the IAM layer does not know how to authorize %s: add it to shared/testkit/iam/derive.go and catalog/actions.json", action)
}

func (c *call) ec2Needs(action string) ([]need, error) {
	switch op := c.operation; op {
	case "DescribeInstances", "DescribeVolumes", "DescribeSnapshots", "DescribeImages", "DescribeTags",
		"DescribeReplaceRootVolumeTasks", "ListImagesInRecycleBin", "DescribeLockedSnapshots", "DescribeSnapshotAttribute", "DescribeImageAttribute":
		return []need{{action: action}}, nil
	case "DeleteVolume", "DeleteSnapshot", "ModifyImageAttribute", "ModifySnapshotAttribute":
		param := map[string]string{"DeleteVolume": "VolumeId", "DeleteSnapshot": "SnapshotId", "ModifyImageAttribute": "ImageId", "ModifySnapshotAttribute": "SnapshotId"}[op]
		typ, arn, err := c.ec2Resource(c.form.Get(param))
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", action, param, err)
		}
		return []need{{action: action, typ: typ, arn: arn, tagsOf: c.form.Get(param)}}, nil
	case "CreateSnapshot":
		tags := c.tagSpecifications()
		_, vol, err := c.ec2Resource(c.form.Get("VolumeId"))
		if err != nil {
			return nil, fmt.Errorf("%s VolumeId: %w", action, err)
		}
		snap := c.arnOf("ec2", c.region, "", "snapshot/*")
		out := []need{
			{action: action, typ: "snapshot", arn: snap, keys: tagKeys(nil, tags)},
			{action: action, typ: "volume", arn: vol, tagsOf: c.form.Get("VolumeId")},
		}
		if len(tags) > 0 {
			out = append(out, need{action: "ec2:CreateTags", typ: "snapshot", arn: snap, keys: tagKeys(map[string][]string{"ec2:CreateAction": {op}}, tags)})
		}
		return out, nil
	case "CreateReplaceRootVolumeTask":
		tags := c.tagSpecifications()
		_, inst, err := c.ec2Resource(c.form.Get("InstanceId"))
		if err != nil {
			return nil, fmt.Errorf("%s InstanceId: %w", action, err)
		}
		task := c.arnOf("ec2", c.region, c.account, "replace-root-volume-task/*")
		out := []need{
			{action: action, typ: "instance", arn: inst, tagsOf: c.form.Get("InstanceId")},
			{action: action, typ: "replace-root-volume-task", arn: task, keys: tagKeys(nil, tags)},
			{action: action, typ: "volume", rootOf: c.form.Get("InstanceId")},
		}
		for _, p := range []string{"SnapshotId", "ImageId"} {
			if id := c.form.Get(p); id != "" {
				typ, arn, err := c.ec2Resource(id)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %w", action, p, err)
				}
				out = append(out, need{action: action, typ: typ, arn: arn, tagsOf: id})
			}
		}
		if len(tags) > 0 {
			out = append(out, need{action: "ec2:CreateTags", typ: "replace-root-volume-task", arn: task, keys: tagKeys(map[string][]string{"ec2:CreateAction": {op}}, tags)})
		}
		return out, nil
	case "CreateTags", "DeleteTags":
		tags := c.queryTags("Tag")
		var out []need
		for _, id := range c.list("ResourceId") {
			typ, arn, err := c.ec2Resource(id)
			if err != nil {
				return nil, fmt.Errorf("%s ResourceId: %w", action, err)
			}
			keys := map[string][]string{}
			for _, t := range tags {
				keys["aws:TagKeys"] = append(keys["aws:TagKeys"], t[0])
				if op == "CreateTags" || t[1] != "" {
					keys["aws:RequestTag/"+t[0]] = []string{t[1]}
				}
			}
			out = append(out, need{action: action, typ: typ, arn: arn, keys: keys, tagsOf: id})
		}
		return out, nil
	}
	return nil, fmt.Errorf("the IAM layer does not know how to authorize %s: add it to shared/testkit/iam/derive.go and catalog/actions.json", action)
}

func (c *call) dynamoNeeds(action string) ([]need, error) {
	table := func(name string) string { return c.arnOf("dynamodb", c.region, c.account, "table/"+name) }
	switch c.operation {
	case "TransactWriteItems":
		// IAM authorizes each item as its own action (DynamoDB developer
		// guide, "Using IAM with DynamoDB transactions").
		items, _ := c.json["TransactItems"].([]any)
		var out []need
		for _, it := range items {
			m, _ := it.(map[string]any)
			for kind, act := range map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"} {
				if op, ok := m[kind].(map[string]any); ok {
					name, _ := op["TableName"].(string)
					out = append(out, need{action: "dynamodb:" + act, typ: "table", arn: table(name), item: itemOrKey(op)})
				}
			}
		}
		return out, nil
	case "BatchWriteItem", "BatchGetItem":
		items, _ := c.json["RequestItems"].(map[string]any)
		var out []need
		for name := range items {
			out = append(out, need{action: action, typ: "table", arn: table(name)})
		}
		return out, nil
	}
	name := c.str("TableName")
	if name == "" {
		return nil, fmt.Errorf("%s names no TableName", action)
	}
	return []need{{action: action, typ: "table", arn: table(name), item: itemOrKey(c.json)}}, nil
}

// itemOrKey is the Item (PutItem) or Key (the other item actions) of a
// DynamoDB request, whose partition key is dynamodb:LeadingKeys (Service
// Authorization Reference, Amazon DynamoDB: "Filters access by the
// partition key values"); nil for a request without one (Scan).
func itemOrKey(req map[string]any) map[string]any {
	if m, ok := req["Item"].(map[string]any); ok {
		return m
	}
	m, _ := req["Key"].(map[string]any)
	return m
}

func (c *call) imageBuilderNeeds(action string) ([]need, error) {
	step := func(id string) need {
		return need{action: action, typ: "workflowStepExecution", arn: c.arnOf("imagebuilder", c.region, c.account, "workflow-step-execution/"+id)}
	}
	switch c.operation {
	case "GetImage":
		return []need{{action: action, typ: "image", arn: c.query.Get("imageBuildVersionArn")}}, nil
	case "GetWorkflowStepExecution":
		return []need{step(c.query.Get("stepExecutionId"))}, nil
	case "SendWorkflowStepAction":
		return []need{step(c.str("stepExecutionId")), {action: action, typ: "image", arn: c.str("imageBuildVersionArn")}}, nil
	}
	return nil, fmt.Errorf("the IAM layer does not know how to authorize %s: add it to shared/testkit/iam/derive.go and catalog/actions.json", action)
}
