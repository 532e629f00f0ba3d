// Package wirefake is the base of the suite's loopback fakes and stand-ins
// for AWS APIs moto lacks (fakehealthgate, fakeimagebuilder,
// scripts/internal/standin): the server (an httptest server on a free
// loopback port), the call log, the Region a request was signed for, and
// the error shapes of the protocols they speak (AWS JSON 1.1, REST-JSON,
// EC2 query). A fake embeds Server and adds its operations; a new fake
// starts from here. The local Lambda Runtime API (runtimeapi) serves on
// Serve too, for the same Close.
package wirefake

import (
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/calllog"
)

// Server is a fake's handler served on a free loopback port, with the log
// of the calls the handler records. A fake embeds it, so URL, Close, Add,
// Calls, Count and Reset are the fake's.
type Server struct {
	*httptest.Server // URL
	*calllog.Log[Call]
}

// Serve serves h on a free loopback port until Close. httptest panics when
// it cannot listen; Serve returns that as an error, so that scripts/local
// and scripts/bench report it as they report every other start-up failure.
func Serve(h http.Handler) (s *Server, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("serve on loopback: %v", r)
		}
	}()
	return &Server{
		Server: httptest.NewServer(h),
		Log:    calllog.New(func(c Call) string { return c.Op }),
	}, nil
}

// Close stops the server. It first cuts every connection, so that a call
// the fake holds (an injected delay, a client that never reads) ends
// instead of keeping Close waiting for it.
func (s *Server) Close() {
	s.CloseClientConnections()
	s.Server.Close()
}

// ForTest starts a fake with start and stops it when the test ends: the
// testing.TB wrapper over a fake's error-returning Start.
func ForTest[T interface{ Close() }](tb testing.TB, start func() (T, error)) T {
	tb.Helper()
	fake, err := start()
	if err != nil {
		tb.Fatalf("start fake: %v", err)
	}
	tb.Cleanup(fake.Close)
	return fake
}

// Call is one request as a fake received it.
type Call struct {
	// Op is the operation: "Health.DescribeEvents", "GetImage", ...
	Op string
	// Region is the Region the request was signed for.
	Region string
	// Query is the query string.
	Query url.Values
	// Body is the request body when it is JSON, else nil.
	Body json.RawMessage
	At   time.Time
	// Error is the error code the fake answered with, or "".
	Error string
}

// NewCall is the record of r, received now as op with body.
func NewCall(r *http.Request, op string, body []byte) Call {
	c := Call{Op: op, Region: SigningRegion(r), Query: r.URL.Query(), At: time.Now()}
	if json.Valid(body) {
		c.Body = body
	}
	return c
}

// SigningRegion reads the Region from r's SigV4 Authorization header:
// "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-2/health/aws4_request, ...".
// It is "" when r is not signed that way.
func SigningRegion(r *http.Request) string {
	_, cred, ok := strings.Cut(r.Header.Get("Authorization"), "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return ""
	}
	return parts[2]
}

// APIError is an error a fake answers with.
type APIError struct {
	Code    string
	Message string
	Status  int // default 400
}

func (e APIError) status() int {
	if e.Status == 0 {
		return http.StatusBadRequest
	}
	return e.Status
}

// WriteJSONError answers e in the AWS JSON 1.1 protocol's shape (Health,
// CodePipeline): the code in X-Amzn-ErrorType and as the body's __type.
func WriteJSONError(w http.ResponseWriter, e APIError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.status())
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}

// WriteRESTJSONError answers e in the REST-JSON protocol's shape (Image
// Builder): the code in X-Amzn-ErrorType, the message in the body.
func WriteRESTJSONError(w http.ResponseWriter, e APIError) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.status())
	_ = json.NewEncoder(w).Encode(map[string]string{"message": e.Message})
}

// WriteEC2Error answers e in the EC2 query protocol's shape, so the SDK
// reports the code and message as it would from EC2.
func WriteEC2Error(w http.ResponseWriter, e APIError) {
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status())
	type ec2Error struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName   xml.Name   `xml:"Response"`
		Errors    []ec2Error `xml:"Errors>Error"`
		RequestID string     `xml:"RequestID"`
	}{Errors: []ec2Error{{e.Code, e.Message}}, RequestID: rand.Text()})
}
