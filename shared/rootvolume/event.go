package rootvolume

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// ErrBadEvent marks input that no retry can fix.
var ErrBadEvent = errors.New("bad event")

// VolumeEvent is what the suite needs from an "EBS Volume Notification".
type VolumeEvent struct {
	VolumeID string
	Event    string // createVolume, ...
	Result   string // available, failed, ...
	Cause    string
	Region   string
	Account  string
}

const volumeDetailType = "EBS Volume Notification"

// DecodeVolumeEvent parses an EventBridge "EBS Volume Notification" event.
// Every error wraps ErrBadEvent.
func DecodeVolumeEvent(raw []byte) (VolumeEvent, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return VolumeEvent{}, fmt.Errorf("%w: not an EventBridge event: %v", ErrBadEvent, err)
	}
	if ev.DetailType != volumeDetailType || ev.Source != "aws.ec2" {
		return VolumeEvent{}, fmt.Errorf("%w: source %q detail-type %q, want aws.ec2 %q", ErrBadEvent, ev.Source, ev.DetailType, volumeDetailType)
	}
	var detail struct {
		Event  string `json:"event"`
		Result string `json:"result"`
		Cause  string `json:"cause"`
	}
	if len(ev.Detail) == 0 {
		return VolumeEvent{}, fmt.Errorf("%w: no detail", ErrBadEvent)
	}
	if err := json.Unmarshal(ev.Detail, &detail); err != nil {
		return VolumeEvent{}, fmt.Errorf("%w: detail: %v", ErrBadEvent, err)
	}
	if len(ev.Resources) == 0 {
		return VolumeEvent{}, fmt.Errorf("%w: no resources, want the volume ARN in resources[0]", ErrBadEvent)
	}
	id, err := VolumeIDFromARN(ev.Resources[0])
	if err != nil {
		return VolumeEvent{}, err
	}
	return VolumeEvent{
		VolumeID: id, Event: detail.Event, Result: detail.Result, Cause: detail.Cause,
		Region: ev.Region, Account: ev.AccountID,
	}, nil
}

// VolumeIDFromARN returns vol-… from arn:aws:ec2:REGION:ACCOUNT:volume/vol-….
func VolumeIDFromARN(s string) (string, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%w: resource %q is not an ARN", ErrBadEvent, s)
	}
	id, ok := strings.CutPrefix(a.Resource, "volume/")
	if a.Service != "ec2" || !ok || !awsid.IsVolumeID(id) {
		return "", fmt.Errorf("%w: resource %q is not an EC2 volume ARN", ErrBadEvent, s)
	}
	return id, nil
}

// The custom events the stack's own bus carries to the suite.
const (
	// EventSource is the source of the suite's custom events.
	EventSource = "lambda-suite.root-volume"
	// ReplaceDetailType asks replace-root-volume for a replacement.
	ReplaceDetailType = "Replace Root Volume Requested"
	// SnapshotNowDetailType asks snapshot-on-volume-create to snapshot an
	// instance's current root volume now.
	SnapshotNowDetailType = "Snapshot Root Volume Requested"
)

// DetailType returns an EventBridge event's detail-type, or "" for input
// that is not one (a direct invocation's payload).
func DetailType(raw []byte) string {
	var ev struct {
		DetailType string `json:"detail-type"`
	}
	if json.Unmarshal(raw, &ev) != nil {
		return ""
	}
	return ev.DetailType
}

// DecodeSnapshotNow reads a "Snapshot Root Volume Requested" event and
// returns the instance ID in its detail. Every error wraps ErrBadEvent.
func DecodeSnapshotNow(raw []byte) (string, error) {
	var ev events.CloudWatchEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return "", fmt.Errorf("%w: not an EventBridge event: %v", ErrBadEvent, err)
	}
	if ev.DetailType != SnapshotNowDetailType {
		return "", fmt.Errorf("%w: detail-type %q, want %q", ErrBadEvent, ev.DetailType, SnapshotNowDetailType)
	}
	var detail struct {
		InstanceID string `json:"instanceId"`
	}
	dec := json.NewDecoder(bytes.NewReader(ev.Detail))
	dec.DisallowUnknownFields()
	if len(ev.Detail) == 0 || dec.Decode(&detail) != nil {
		return "", fmt.Errorf("%w: detail must be {\"instanceId\": \"i-…\"}", ErrBadEvent)
	}
	if !awsid.IsInstanceID(detail.InstanceID) {
		return "", fmt.Errorf("%w: instanceId %q is not an EC2 instance ID (i-…)", ErrBadEvent, detail.InstanceID)
	}
	return detail.InstanceID, nil
}
