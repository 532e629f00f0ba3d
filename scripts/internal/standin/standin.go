// Package standin holds loopback stand-ins for AWS APIs that moto lacks,
// shared by the local run (scripts/local) and the benchmarks (scripts/bench).
package standin

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/testkit/replacetest"
	"github.com/ebs-ops/lambda-suite/shared/testkit/wirefake"
)

// ReplaceRootVolume is an endpoint in front of moto for the root-volume
// functions. moto 5.2.1 does not implement CreateReplaceRootVolumeTask,
// DescribeReplaceRootVolumeTasks, DescribeLockedSnapshots or
// ListImagesInRecycleBin, so the stand-in
// answers them from replacetest.Tasks, the tests' fake with EC2's semantics,
// on the wall clock: a task is answered pending and then, at once, does to
// the instance what EC2 does when it succeeds (a new volume from the
// snapshot, or the AMI's, takes the root device; the old one stays
// detached unless asked to be deleted), or fails for an instance told to.
// Every other call (EC2's, DynamoDB's) goes to moto unchanged.
type ReplaceRootVolume struct {
	*wirefake.Server // URL, Close
	Tasks            *replacetest.Tasks
	proxy            *httputil.ReverseProxy
}

// Start serves the stand-in on a free loopback port, in front of moto at
// motoURL; c is a client of that moto, for the work a task does.
func Start(motoURL string, c *ec2.Client) (*ReplaceRootVolume, error) {
	target, err := url.Parse(motoURL)
	if err != nil {
		return nil, err
	}
	s := &ReplaceRootVolume{
		Tasks: replacetest.New(c),
		proxy: httputil.NewSingleHostReverseProxy(target),
	}
	if s.Server, err = wirefake.Serve(s); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *ReplaceRootVolume) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil {
			switch form.Get("Action") {
			case "CreateReplaceRootVolumeTask":
				s.createTask(w, r.Context(), form)
				return
			case "DescribeReplaceRootVolumeTasks":
				s.describeTasks(w, r.Context(), form)
				return
			case "DescribeLockedSnapshots":
				s.describeLocks(w, r.Context())
				return
			case "ListImagesInRecycleBin":
				writeXML(w, "ListImagesInRecycleBinResponse", struct {
					Images []struct{} `xml:"imageSet>item"`
				}{})
				return
			}
		}
	}
	s.proxy.ServeHTTP(w, r)
}

// replaceTask is EC2's ReplaceRootVolumeTask in its XML shape.
type replaceTask struct {
	ID             string   `xml:"replaceRootVolumeTaskId"`
	InstanceID     string   `xml:"instanceId"`
	TaskState      string   `xml:"taskState"`
	StartTime      string   `xml:"startTime"`
	CompleteTime   string   `xml:"completeTime,omitempty"`
	SnapshotID     string   `xml:"snapshotId,omitempty"`
	ImageID        string   `xml:"imageId,omitempty"`
	DeleteReplaced bool     `xml:"deleteReplacedRootVolume"`
	Tags           []xmlTag `xml:"tagSet>item"`
}

type xmlTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func toXML(t types.ReplaceRootVolumeTask) replaceTask {
	out := replaceTask{
		ID: aws.ToString(t.ReplaceRootVolumeTaskId), InstanceID: aws.ToString(t.InstanceId), TaskState: string(t.TaskState),
		StartTime: aws.ToString(t.StartTime), CompleteTime: aws.ToString(t.CompleteTime),
		SnapshotID: aws.ToString(t.SnapshotId), ImageID: aws.ToString(t.ImageId), DeleteReplaced: aws.ToBool(t.DeleteReplacedRootVolume),
	}
	for _, tag := range t.Tags {
		out.Tags = append(out.Tags, xmlTag{aws.ToString(tag.Key), aws.ToString(tag.Value)})
	}
	return out
}

func (s *ReplaceRootVolume) createTask(w http.ResponseWriter, ctx context.Context, form url.Values) {
	in := &ec2.CreateReplaceRootVolumeTaskInput{
		InstanceId:               aws.String(form.Get("InstanceId")),
		DeleteReplacedRootVolume: aws.Bool(form.Get("DeleteReplacedRootVolume") == "true"),
	}
	for name, field := range map[string]**string{"ClientToken": &in.ClientToken, "SnapshotId": &in.SnapshotId, "ImageId": &in.ImageId} {
		if v := form.Get(name); v != "" {
			*field = aws.String(v)
		}
	}
	var tags []types.Tag
	for i := 1; form.Get(fmt.Sprintf("TagSpecification.1.Tag.%d.Key", i)) != ""; i++ {
		tags = append(tags, types.Tag{Key: aws.String(form.Get(fmt.Sprintf("TagSpecification.1.Tag.%d.Key", i))),
			Value: aws.String(form.Get(fmt.Sprintf("TagSpecification.1.Tag.%d.Value", i)))})
	}
	if len(tags) > 0 {
		in.TagSpecifications = []types.TagSpecification{{ResourceType: types.ResourceTypeReplaceRootVolumeTask, Tags: tags}}
	}
	out, err := s.Tasks.CreateReplaceRootVolumeTask(ctx, in)
	if err != nil {
		writeEC2Error(w, err)
		return
	}
	// EC2 answers pending and completes the task on its own.
	if err := s.Tasks.Settle(ctx); err != nil {
		writeEC2Error(w, err)
		return
	}
	writeXML(w, "CreateReplaceRootVolumeTaskResponse", struct {
		Task replaceTask `xml:"replaceRootVolumeTask"`
	}{toXML(*out.ReplaceRootVolumeTask)})
}

func (s *ReplaceRootVolume) describeTasks(w http.ResponseWriter, ctx context.Context, form url.Values) {
	in := &ec2.DescribeReplaceRootVolumeTasksInput{}
	for i := 1; form.Get(fmt.Sprintf("ReplaceRootVolumeTaskId.%d", i)) != ""; i++ {
		in.ReplaceRootVolumeTaskIds = append(in.ReplaceRootVolumeTaskIds, form.Get(fmt.Sprintf("ReplaceRootVolumeTaskId.%d", i)))
	}
	for i := 1; form.Get(fmt.Sprintf("Filter.%d.Name", i)) != ""; i++ {
		f := types.Filter{Name: aws.String(form.Get(fmt.Sprintf("Filter.%d.Name", i)))}
		for j := 1; form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)) != ""; j++ {
			f.Values = append(f.Values, form.Get(fmt.Sprintf("Filter.%d.Value.%d", i, j)))
		}
		in.Filters = append(in.Filters, f)
	}
	out, err := s.Tasks.DescribeReplaceRootVolumeTasks(ctx, in)
	if err != nil {
		writeEC2Error(w, err)
		return
	}
	var tasks []replaceTask
	for _, t := range out.ReplaceRootVolumeTasks {
		tasks = append(tasks, toXML(t))
	}
	writeXML(w, "DescribeReplaceRootVolumeTasksResponse", struct {
		Tasks []replaceTask `xml:"replaceRootVolumeTaskSet>item"`
	}{tasks})
}

// lockedSnapshot is EC2's LockedSnapshotsInfo in its XML shape.
type lockedSnapshot struct {
	SnapshotID    string `xml:"snapshotId"`
	LockState     string `xml:"lockState"`
	LockExpiresOn string `xml:"lockExpiresOn,omitempty"`
}

// describeLocks answers the locks the fake holds (the lock-state filter
// the cleanup sends selects every lock that refuses a delete).
func (s *ReplaceRootVolume) describeLocks(w http.ResponseWriter, ctx context.Context) {
	out, err := s.Tasks.DescribeLockedSnapshots(ctx, &ec2.DescribeLockedSnapshotsInput{})
	if err != nil {
		writeEC2Error(w, err)
		return
	}
	var locks []lockedSnapshot
	for _, l := range out.Snapshots {
		ls := lockedSnapshot{SnapshotID: aws.ToString(l.SnapshotId), LockState: string(l.LockState)}
		if l.LockExpiresOn != nil {
			ls.LockExpiresOn = l.LockExpiresOn.UTC().Format("2006-01-02T15:04:05.000Z")
		}
		locks = append(locks, ls)
	}
	writeXML(w, "DescribeLockedSnapshotsResponse", struct {
		Snapshots []lockedSnapshot `xml:"snapshotSet>item"`
	}{locks})
}

// writeXML answers in EC2's query-protocol shape: body's fields inside
// <name xmlns="…">.
func writeXML(w http.ResponseWriter, name string, body any) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	start := xml.StartElement{
		Name: xml.Name{Local: name},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: "http://ec2.amazonaws.com/doc/2016-11-15/"}},
	}
	_ = xml.NewEncoder(w).EncodeElement(body, start)
}

// writeEC2Error answers err in EC2's error shape, with the code and
// message of the API error it carries (InternalError, a 500, otherwise).
func writeEC2Error(w http.ResponseWriter, err error) {
	e := wirefake.APIError{Code: "InternalError", Message: err.Error(), Status: http.StatusInternalServerError}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		e = wirefake.APIError{Code: apiErr.ErrorCode(), Message: apiErr.ErrorMessage()}
		if e.Code == "InternalError" {
			e.Status = http.StatusInternalServerError
		}
	}
	wirefake.WriteEC2Error(w, e)
}
