// Package fakeimagebuilder is a loopback stand-in for EC2 Image Builder,
// which moto does not implement. It speaks Image Builder's REST-JSON
// protocol (each operation a path such as GET /GetImage, errors named in
// the X-Amzn-ErrorType header), so the real SDK client reaches it through
// AWS_ENDPOINT_URL_IMAGEBUILDER or BaseEndpoint. It holds images with their
// output AMIs, answers GetImage as Image Builder does, records every call,
// and fails calls on demand.
//
// It lives under shared/testkit, the suite's tooling;
// testkit.TestFunctionsShipNoTooling keeps the functions' binaries free of
// it. Workflow step executions (workflow.go) add their state to Server
// and their operations to the ops table; the next capability does the same.
package fakeimagebuilder

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/ebs-ops/lambda-suite/shared/testkit/wirefake"
)

// Server is a running fake.
type Server struct {
	*wirefake.Server // URL, Close, Calls, Count

	mu       sync.Mutex
	failures map[string][]APIError
	images   map[string]Image // by image build version ARN
	steps    map[string]*Step // by step execution ID (workflow.go)
	// Now is the fake's clock, for steps' time-outs; time.Now when nil.
	Now func() time.Time
}

// Image is an image build version as Image Builder holds it.
type Image struct {
	ARN     string // arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/VERSION/BUILD
	Name    string
	Version string
	Status  string // AVAILABLE, FAILED, BUILDING, ...
	Reason  string
	Created time.Time
	// AMIs are the build's output AMIs: one per Region and account of its
	// distribution.
	AMIs []AMI
}

// AMI is one output AMI of a build.
type AMI struct {
	Region    string
	ID        string
	Name      string
	AccountID string
}

// Call is one request as the fake received it; its Op is "GetImage", ...
type Call = wirefake.Call

// APIError is an error the fake answers with.
type APIError = wirefake.APIError

// ops are the operations the fake serves, by path. A new capability adds
// its operations here.
var ops = map[string]func(s *Server, r *http.Request, body []byte) (any, *APIError){
	"/GetImage": (*Server).getImage,
}

// Start serves a fake on a free loopback port.
func Start() (*Server, error) {
	s := &Server{
		failures: map[string][]APIError{}, images: map[string]Image{}, steps: map[string]*Step{},
	}
	var err error
	if s.Server, err = wirefake.Serve(s); err != nil {
		return nil, err
	}
	return s, nil
}

// New starts a fake for a test and stops it when the test ends.
func New(tb testing.TB) *Server { return wirefake.ForTest(tb, Start) }

// Env returns the variable that points a child process's SDK at the fake.
func (s *Server) Env() string { return "AWS_ENDPOINT_URL_IMAGEBUILDER=" + s.URL }

// PutImage adds or replaces an image.
func (s *Server) PutImage(im Image) {
	s.mu.Lock()
	defer s.mu.Unlock()
	im.AMIs = slices.Clone(im.AMIs)
	s.images[im.ARN] = im
}

// Fail makes the next call of op answer with e; several queue up.
func (s *Server) Fail(op string, e APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[op] = append(s.failures[op], e)
}

// ResetCalls forgets the recorded calls (not the images).
func (s *Server) ResetCalls() { s.Reset() }

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		wirefake.WriteRESTJSONError(w, APIError{Code: "ClientException", Message: "cannot read the body"})
		return
	}
	op := strings.TrimPrefix(r.URL.Path, "/")
	call := wirefake.NewCall(r, op, body)
	s.mu.Lock()
	defer s.mu.Unlock()
	handle, ok := ops[r.URL.Path]
	var out any
	var apiErr *APIError
	switch {
	case !ok:
		apiErr = &APIError{Code: "UnknownOperationException", Message: "the fake does not implement " + r.Method + " " + r.URL.Path, Status: http.StatusNotFound}
	case len(s.failures[op]) > 0:
		e := s.failures[op][0]
		s.failures[op] = s.failures[op][1:]
		apiErr = &e
	default:
		out, apiErr = handle(s, r, body)
	}
	if apiErr != nil {
		call.Error = apiErr.Code
		s.Add(call)
		wirefake.WriteRESTJSONError(w, *apiErr)
		return
	}
	n := s.Add(call)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-Requestid", fmt.Sprintf("fake-%d", n))
	_ = json.NewEncoder(w).Encode(out)
}

// getImage answers GET /GetImage?imageBuildVersionArn=… with the image in
// the shape of the SDK's deserializer (GetImageOutput). Callers hold mu.
func (s *Server) getImage(r *http.Request, _ []byte) (any, *APIError) {
	if r.Method != http.MethodGet {
		return nil, &APIError{Code: "InvalidRequestException", Message: "GetImage is a GET", Status: http.StatusMethodNotAllowed}
	}
	q := r.URL.Query()
	for k := range q {
		if k != "imageBuildVersionArn" {
			return nil, &APIError{Code: "InvalidRequestException", Message: fmt.Sprintf("the fake does not know the parameter %q", k)}
		}
	}
	id := q.Get("imageBuildVersionArn")
	a, err := arn.Parse(id)
	if err != nil || a.Service != "imagebuilder" || !strings.HasPrefix(a.Resource, "image/") {
		return nil, &APIError{Code: "InvalidParameterValueException", Message: fmt.Sprintf("imageBuildVersionArn %q is not an image ARN", id)}
	}
	im, ok := s.images[id]
	if !ok {
		return nil, &APIError{Code: "ResourceNotFoundException", Message: fmt.Sprintf("The resource %s does not exist.", id), Status: http.StatusNotFound}
	}
	amis := make([]map[string]any, 0, len(im.AMIs))
	for _, a := range im.AMIs {
		amis = append(amis, map[string]any{
			"region": a.Region, "image": a.ID, "name": a.Name, "accountId": a.AccountID,
			"state": map[string]any{"status": "AVAILABLE"},
		})
	}
	return map[string]any{
		"requestId": fmt.Sprintf("fake-%d", s.Count("")+1),
		"image": map[string]any{
			"arn": im.ARN, "name": im.Name, "version": im.Version, "type": "AMI", "platform": "Linux",
			"state":           map[string]any{"status": im.Status, "reason": im.Reason},
			"dateCreated":     im.Created.UTC().Format("2006-01-02T15:04:05.000Z"),
			"outputResources": map[string]any{"amis": amis},
		},
	}, nil
}
