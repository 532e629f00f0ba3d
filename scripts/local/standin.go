package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"
)

// replaceStandIn is an EC2 endpoint in front of moto for the
// replace-root-volume function. moto 5.2.1 does not implement
// CreateReplaceRootVolumeTask, so the stand-in answers it by doing to the
// instance what EC2 does when the task succeeds: a new volume from the
// snapshot (or the AMI's root snapshot, for the launch state) takes the
// root device, and the old volume stays detached unless asked to be
// deleted. Every other call goes to moto unchanged.
type replaceStandIn struct {
	URL   string
	ec2   *ec2.Client
	proxy *httputil.ReverseProxy
	srv   *http.Server

	mu    sync.Mutex
	tasks map[string]replaceTask // by client token: a retried request starts no second task
}

func startStandIn(motoURL string, c *ec2.Client) (*replaceStandIn, error) {
	target, err := url.Parse(motoURL)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &replaceStandIn{
		URL:   "http://" + ln.Addr().String(),
		ec2:   c,
		proxy: httputil.NewSingleHostReverseProxy(target),
		tasks: map[string]replaceTask{},
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *replaceStandIn) Close() { _ = s.srv.Close() }

func (s *replaceStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "CreateReplaceRootVolumeTask" {
			s.createTask(w, r.Context(), form)
			return
		}
	}
	s.proxy.ServeHTTP(w, r)
}

// replaceTask is EC2's ReplaceRootVolumeTask in its XML shape.
type replaceTask struct {
	ID             string `xml:"replaceRootVolumeTaskId"`
	InstanceID     string `xml:"instanceId"`
	TaskState      string `xml:"taskState"`
	StartTime      string `xml:"startTime"`
	CompleteTime   string `xml:"completeTime"`
	SnapshotID     string `xml:"snapshotId,omitempty"`
	ImageID        string `xml:"imageId,omitempty"`
	DeleteReplaced bool   `xml:"deleteReplacedRootVolume"`
}

func (s *replaceStandIn) createTask(w http.ResponseWriter, ctx context.Context, form url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	token := form.Get("ClientToken")
	task, seen := s.tasks[token]
	if !seen || token == "" {
		var err error
		task, err = s.replace(ctx, form.Get("InstanceId"), form.Get("SnapshotId"), form.Get("ImageId"), form.Get("DeleteReplacedRootVolume") == "true")
		if err != nil {
			writeEC2Error(w, err)
			return
		}
		s.tasks[token] = task
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name    `xml:"CreateReplaceRootVolumeTaskResponse"`
		XMLNS     string      `xml:"xmlns,attr"`
		RequestID string      `xml:"requestId"`
		Task      replaceTask `xml:"replaceRootVolumeTask"`
	}{XMLNS: "http://ec2.amazonaws.com/doc/2016-11-15/", RequestID: randomHex(16), Task: task})
}

// replace swaps the instance's root volume through moto.
func (s *replaceStandIn) replace(ctx context.Context, instanceID, snapshotID, imageID string, deleteOld bool) (replaceTask, error) {
	start := time.Now().UTC()
	out, err := s.ec2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{instanceID}})
	if err != nil {
		return replaceTask{}, err
	}
	if len(out.Reservations) == 0 || len(out.Reservations[0].Instances) == 0 {
		return replaceTask{}, apiError("InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", instanceID)
	}
	inst := out.Reservations[0].Instances[0]
	device := aws.ToString(inst.RootDeviceName)
	var oldRoot string
	for _, m := range inst.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToString(m.DeviceName) == device {
			oldRoot = aws.ToString(m.Ebs.VolumeId)
		}
	}
	if oldRoot == "" {
		return replaceTask{}, apiError("IncorrectState", "instance %s has no EBS volume at its root device %s", instanceID, device)
	}
	vols, err := s.ec2.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{VolumeIds: []string{oldRoot}})
	if err != nil {
		return replaceTask{}, err
	}
	old := vols.Volumes[0]

	source := snapshotID
	switch {
	case snapshotID != "":
		snaps, err := s.ec2.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: []string{snapshotID}})
		if err != nil {
			return replaceTask{}, err
		}
		// As EC2 insists: only a snapshot of the current root volume.
		if got := aws.ToString(snaps.Snapshots[0].VolumeId); got != oldRoot {
			return replaceTask{}, apiError("InvalidParameterValue", "snapshot %s is of volume %s, not of the root volume %s", snapshotID, got, oldRoot)
		}
	default:
		if imageID == "" {
			imageID = aws.ToString(inst.ImageId)
		}
		source = s.imageRootSnapshot(ctx, imageID)
	}

	in := &ec2.CreateVolumeInput{AvailabilityZone: old.AvailabilityZone, VolumeType: old.VolumeType}
	if source != "" {
		in.SnapshotId = aws.String(source)
	} else {
		in.Size = old.Size
	}
	created, err := s.ec2.CreateVolume(ctx, in)
	if err != nil {
		return replaceTask{}, err
	}
	steps := []func() error{
		func() error {
			_, err := s.ec2.DetachVolume(ctx, &ec2.DetachVolumeInput{VolumeId: aws.String(oldRoot), InstanceId: aws.String(instanceID), Device: aws.String(device)})
			return err
		},
		func() error {
			_, err := s.ec2.AttachVolume(ctx, &ec2.AttachVolumeInput{VolumeId: created.VolumeId, InstanceId: aws.String(instanceID), Device: aws.String(device)})
			return err
		},
	}
	if deleteOld {
		steps = append(steps, func() error {
			_, err := s.ec2.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(oldRoot)})
			return err
		})
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return replaceTask{}, err
		}
	}
	task := replaceTask{
		ID: "replacevol-" + randomHex(17), InstanceID: instanceID, TaskState: "succeeded",
		StartTime: start.Format(time.RFC3339), CompleteTime: time.Now().UTC().Format(time.RFC3339),
		DeleteReplaced: deleteOld,
	}
	if snapshotID != "" {
		task.SnapshotID = snapshotID
	} else {
		task.ImageID = imageID
	}
	return task, nil
}

// imageRootSnapshot returns the snapshot behind the AMI's root device, or
// "" (then the new volume starts blank, which is all moto can tell apart).
func (s *replaceStandIn) imageRootSnapshot(ctx context.Context, imageID string) string {
	out, err := s.ec2.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{imageID}})
	if err != nil || len(out.Images) == 0 {
		return ""
	}
	im := out.Images[0]
	for _, m := range im.BlockDeviceMappings {
		if m.Ebs != nil && aws.ToString(m.DeviceName) == aws.ToString(im.RootDeviceName) {
			return aws.ToString(m.Ebs.SnapshotId)
		}
	}
	return ""
}

func apiError(code, format string, args ...any) error {
	return &smithy.GenericAPIError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// writeEC2Error answers in EC2's error shape, so the SDK in the function
// reports the code and message as it would from EC2.
func writeEC2Error(w http.ResponseWriter, err error) {
	code, msg := "InternalError", err.Error()
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		code, msg = apiErr.ErrorCode(), apiErr.ErrorMessage()
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	status := http.StatusBadRequest
	if code == "InternalError" {
		status = http.StatusInternalServerError
	}
	w.WriteHeader(status)
	type ec2Error struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name   `xml:"Response"`
		Errors    []ec2Error `xml:"Errors>Error"`
		RequestID string     `xml:"RequestID"`
	}{Errors: []ec2Error{{code, msg}}, RequestID: randomHex(16)})
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
