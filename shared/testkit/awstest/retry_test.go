package awstest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// ec2Stub answers DescribeVolumes: the first request's connection is dropped
// unanswered when dropFirst is set, then every request gets status and body.
func ec2Stub(t *testing.T, dropFirst bool, status int, body string) (*Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 && dropFirst {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				t.Errorf("hijack: %v", err)
				return
			}
			conn.Close()
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(ts.Close)
	return &Server{URL: ts.URL}, &requests
}

func TestDroppedConnectionIsRetried(t *testing.T) {
	srv, requests := ec2Stub(t, true, http.StatusOK,
		`<DescribeVolumesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><volumeSet/></DescribeVolumesResponse>`)
	client := ec2.NewFromConfig(srv.ConfigFor(t, NewAccount()))
	if _, err := client.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{}); err != nil {
		t.Fatalf("DescribeVolumes after one dropped connection: %v", err)
	}
	if got := requests.Load(); got != 2 {
		t.Errorf("requests = %d, want 2 (the dropped one and its retry)", got)
	}
}

func TestServiceErrorIsNotRetried(t *testing.T) {
	srv, requests := ec2Stub(t, false, http.StatusInternalServerError,
		`<Response><Errors><Error><Code>InternalError</Code><Message>boom</Message></Error></Errors><RequestID>r</RequestID></Response>`)
	client := ec2.NewFromConfig(srv.ConfigFor(t, NewAccount()))
	if _, err := client.DescribeVolumes(context.Background(), &ec2.DescribeVolumesInput{}); err == nil {
		t.Fatal("DescribeVolumes succeeded, want the stub's InternalError")
	}
	if got := requests.Load(); got != 1 {
		t.Errorf("requests = %d, want 1: an answer from the emulator reaches the test unretried", got)
	}
}
