package diskalarm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Kinds of invocation the function answers.
const (
	KindDirect      = "direct"       // the operators' {"hostname": ..., "sns_topic_arn": ...}
	KindStateChange = "state-change" // EventBridge "EC2 Instance State-change Notification"
	KindSchedule    = "schedule"     // EventBridge "Scheduled Event"
	KindQueue       = "queue"        // SQS: continuations of runs that stopped before their deadline
)

// Invocation is a decoded payload.
type Invocation struct {
	Kind string
	// KindDirect. TopicARN may be empty: the caller then uses SNS_TOPIC_ARN.
	NamePattern string
	TopicARN    string
	// KindStateChange.
	InstanceID string
	State      string
	// KindQueue.
	Messages []events.SQSMessage
	// KindRemoveAll.
	DryRun bool
}

const (
	stateChangeType = "EC2 Instance State-change Notification"
	scheduledType   = "Scheduled Event"
)

var directFields = []string{"hostname", "sns_topic_name", "sns_topic_arn"}

// DecodeInvocation tells which trigger a payload comes from and reads it.
// Every error wraps ErrBadInput and says what was wrong.
func DecodeInvocation(raw []byte) (Invocation, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return Invocation{}, badInput("the payload is not a JSON object")
	}
	switch {
	case fields["Records"] != nil:
		return decodeQueue(raw)
	case fields["detail-type"] != nil:
		return decodeEventBridge(raw)
	case fields["action"] != nil:
		return decodeAction(fields)
	}
	for _, f := range directFields {
		if fields[f] != nil {
			return decodeDirect(fields)
		}
	}
	return Invocation{}, badInput("unknown trigger: want a direct invocation {\"hostname\": \"Windows*\", \"sns_topic_arn\": \"arn:aws:sns:…\"}, {\"action\": \"remove-all\", \"dryRun\": true}, an EC2 state-change event, a scheduled event or an SQS batch")
}

func decodeDirect(fields map[string]json.RawMessage) (Invocation, error) {
	for name := range fields {
		if !slices.Contains(directFields, name) {
			return Invocation{}, badInput("unknown field %q in the direct invocation (want hostname and sns_topic_arn)", awsid.Clip(name, 80))
		}
	}
	str := func(name string) (string, bool, error) {
		v, ok := fields[name]
		if !ok {
			return "", false, nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return "", true, badInput("%s must be a string, got %s", name, jsonKind(v))
		}
		return s, true, nil
	}
	inv := Invocation{Kind: KindDirect}
	pattern, ok, err := str("hostname")
	if err != nil {
		return inv, err
	}
	if !ok {
		return inv, badInput("hostname is missing: the Name pattern of the instances, such as \"Windows*\"")
	}
	if err := ValidatePattern(pattern); err != nil {
		return inv, fmt.Errorf("hostname: %w", err)
	}
	inv.NamePattern = pattern

	byName, hasName, err := str("sns_topic_name")
	if err != nil {
		return inv, err
	}
	byARN, hasARN, err := str("sns_topic_arn")
	if err != nil {
		return inv, err
	}
	if hasName && hasARN && byName != byARN {
		return inv, badInput("sns_topic_name and sns_topic_arn name different topics")
	}
	inv.TopicARN = byARN
	if hasName {
		inv.TopicARN = byName
	}
	if hasName || hasARN {
		if err := checkTopic(inv.TopicARN); err != nil {
			return inv, err
		}
	}
	return inv, nil
}

func decodeEventBridge(raw []byte) (Invocation, error) {
	var ev events.EventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Invocation{}, badInput("not an EventBridge event: %v", err)
	}
	switch {
	case ev.Source == "aws.events" && ev.DetailType == scheduledType:
		return Invocation{Kind: KindSchedule}, nil
	case ev.Source == "aws.ec2" && ev.DetailType == stateChangeType:
	default:
		return Invocation{}, badInput("unknown trigger: EventBridge source %q detail-type %q", awsid.Clip(ev.Source, 80), awsid.Clip(ev.DetailType, 80))
	}
	var detail struct {
		InstanceID string `json:"instance-id"`
		State      string `json:"state"`
	}
	if len(ev.Detail) == 0 || json.Unmarshal(ev.Detail, &detail) != nil {
		return Invocation{}, badInput("the state-change event has no detail object")
	}
	if !awsid.IsInstanceID(detail.InstanceID) {
		return Invocation{}, badInput("detail.instance-id %q is not an EC2 instance ID", awsid.Clip(detail.InstanceID, 80))
	}
	if err := awsid.CheckResources(ev.Resources, "ec2", "instance/"+detail.InstanceID); err != nil {
		return Invocation{}, badInputOf(err)
	}
	if detail.State == "" {
		return Invocation{}, badInput("detail.state is missing")
	}
	return Invocation{Kind: KindStateChange, InstanceID: detail.InstanceID, State: detail.State}, nil
}

func decodeQueue(raw []byte) (Invocation, error) {
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Invocation{}, badInput("not an SQS event: %v", err)
	}
	if len(ev.Records) == 0 {
		return Invocation{}, badInput("an SQS event without records")
	}
	for _, r := range ev.Records {
		if r.EventSource != "aws:sqs" {
			return Invocation{}, badInput("unknown trigger: a record from %q, want aws:sqs", awsid.Clip(r.EventSource, 80))
		}
		if r.EventSourceARN == "" {
			continue
		}
		a, err := arn.Parse(r.EventSourceARN)
		if err == nil && a.Service == "sqs" {
			err = awsid.CheckPartition(a)
		} else {
			err = errors.New("not an SQS queue ARN")
		}
		if err != nil {
			return Invocation{}, badInput("the record's eventSourceARN %q: %v", awsid.Clip(r.EventSourceARN, 80), err)
		}
	}
	return Invocation{Kind: KindQueue, Messages: ev.Records}, nil
}

// checkTopic checks the alarms' topic by awsid.ParseSNSTopicARN, naming
// where a missing one is given.
func checkTopic(s string) error {
	if s == "" {
		return badInput("no SNS topic: give sns_topic_arn, or set SNS_TOPIC_ARN")
	}
	if _, err := awsid.ParseSNSTopicARN(s); err != nil {
		return badInputOf(err)
	}
	return nil
}

func jsonKind(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
