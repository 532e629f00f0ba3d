package wirefake

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestServeAnswersUntilClosed(t *testing.T) {
	var s *Server
	t.Run("served", func(t *testing.T) {
		s = ForTest(t, func() (*Server, error) {
			return Serve(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fake") }))
		})
		resp, err := http.Get(s.URL)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != "fake" {
			t.Errorf("body = %q, want the handler's", body)
		}
	})
	// The subtest's end stopped it.
	if resp, err := http.Get(s.URL); err == nil {
		resp.Body.Close()
		t.Errorf("GET after the test ended = %s, want no server", resp.Status)
	}
}

// A call the fake holds (Delay in fakehealthgate) must not keep Close
// waiting: httptest's Close alone waits for every active request.
func TestCloseCutsHeldCalls(t *testing.T) {
	held := make(chan struct{})
	s, err := Serve(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		close(held)
		<-r.Context().Done()
	}))
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		if resp, err := http.Get(s.URL); err == nil {
			resp.Body.Close()
		}
	}()
	<-held
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close still waits for a held call after 5s")
	}
}

func TestSigningRegion(t *testing.T) {
	tests := []struct {
		name, auth, want string
	}{
		{name: "SigV4", auth: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-2/health/aws4_request, SignedHeaders=host, Signature=x", want: "us-east-2"},
		{name: "unsigned", auth: "", want: ""},
		{name: "short scope", auth: "AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-2, Signature=x", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", nil)
			r.Header.Set("Authorization", tt.auth)
			if got := SigningRegion(r); got != tt.want {
				t.Errorf("SigningRegion(%q) = %q, want %q", tt.auth, got, tt.want)
			}
		})
	}
}

func TestErrorShapes(t *testing.T) {
	e := APIError{Code: "ThrottlingException", Message: "slow down"}
	tests := []struct {
		name        string
		write       func(http.ResponseWriter, APIError)
		status      int
		contentType string
		errorType   string
		body        string
	}{
		{name: "JSON 1.1", write: WriteJSONError, status: 400, contentType: "application/x-amz-json-1.1", errorType: e.Code,
			body: `{"__type":"ThrottlingException","message":"slow down"}` + "\n"},
		{name: "REST-JSON", write: WriteRESTJSONError, status: 400, contentType: "application/json", errorType: e.Code,
			body: `{"message":"slow down"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			tt.write(rec, e)
			if rec.Code != tt.status || rec.Header().Get("Content-Type") != tt.contentType ||
				rec.Header().Get("X-Amzn-ErrorType") != tt.errorType || rec.Body.String() != tt.body {
				t.Errorf("%s = %d %q %q %q, want %d %q %q %q", tt.name, rec.Code, rec.Header().Get("Content-Type"),
					rec.Header().Get("X-Amzn-ErrorType"), rec.Body.String(), tt.status, tt.contentType, tt.errorType, tt.body)
			}
		})
	}
	t.Run("EC2 query", func(t *testing.T) {
		rec := httptest.NewRecorder()
		WriteEC2Error(rec, APIError{Code: "InternalError", Message: "boom", Status: http.StatusInternalServerError})
		const prefix = "<Response><Errors><Error><Code>InternalError</Code><Message>boom</Message></Error></Errors><RequestID>"
		if got := rec.Body.String(); rec.Code != http.StatusInternalServerError || len(got) < len(prefix) || got[:len(prefix)] != prefix {
			t.Errorf("WriteEC2Error = %d %q, want 500 starting %q", rec.Code, got, prefix)
		}
	})
}
