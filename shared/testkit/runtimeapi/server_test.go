package runtimeapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const testARN = "arn:aws:lambda:us-east-1:123456789012:function:test"

// fakeRuntime plays the runtime's side of the API over plain HTTP.
type fakeRuntime struct {
	t    *testing.T
	base string
}

func (r fakeRuntime) next() (id string, h http.Header, body string) {
	r.t.Helper()
	resp, err := http.Get(r.base + "/invocation/next")
	if err != nil {
		r.t.Fatalf("GET next: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET next = %d %s, want 200", resp.StatusCode, b)
	}
	return resp.Header.Get(headerRequestID), resp.Header, string(b)
}

func (r fakeRuntime) post(path string, header http.Header, body string) (int, string) {
	r.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, r.base+path, strings.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func newTestServer(t *testing.T) (*Server, fakeRuntime) {
	t.Helper()
	s, err := NewServer(testARN)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, fakeRuntime{t: t, base: "http://" + s.Addr() + apiPrefix}
}

type invoked struct {
	res Result
	err error
}

func invokeAsync(s *Server, payload string, timeout time.Duration) <-chan invoked {
	ch := make(chan invoked, 1)
	go func() {
		res, err := s.Invoke(context.Background(), []byte(payload), timeout)
		ch <- invoked{res, err}
	}()
	return ch
}

func TestServerInvocation(t *testing.T) {
	tests := []struct {
		name        string
		path        string // after /invocation/{id}
		header      http.Header
		body        string
		wantPayload string
		wantErr     *FunctionError
	}{
		{
			name:        "response",
			path:        "/response",
			body:        `{"ok":true}`,
			wantPayload: `{"ok":true}`,
		},
		{
			name:    "error in Lambda's shape",
			path:    "/error",
			body:    `{"errorMessage":"boom","errorType":"errorString","stackTrace":[]}`,
			wantErr: &FunctionError{Type: "errorString", Message: "boom"},
		},
		{
			name:    "error typed only by its header",
			path:    "/error",
			header:  http.Header{headerErrorType: {"Runtime.Unknown"}},
			body:    `not json`,
			wantErr: &FunctionError{Type: "Runtime.Unknown", Message: "not json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, rt := newTestServer(t)
			before := time.Now()
			done := invokeAsync(s, `{"in":1}`, time.Minute)

			id, h, body := rt.next()
			if body != `{"in":1}` {
				t.Errorf("next body = %s, want the payload", body)
			}
			if got := h.Get(headerFunctionARN); got != testARN {
				t.Errorf("%s = %q, want %q", headerFunctionARN, got, testARN)
			}
			if !strings.HasPrefix(h.Get(headerTraceID), "Root=1-") {
				t.Errorf("%s = %q, want an X-Ray header", headerTraceID, h.Get(headerTraceID))
			}
			ms, err := strconv.ParseInt(h.Get(headerDeadlineMS), 10, 64)
			if deadline := time.UnixMilli(ms); err != nil || deadline.Before(before.Add(59*time.Second)) || deadline.After(time.Now().Add(time.Minute)) {
				t.Errorf("%s = %q, want about a minute from now", headerDeadlineMS, h.Get(headerDeadlineMS))
			}

			code, reply := rt.post("/invocation/"+id+tt.path, tt.header, tt.body)
			if code != http.StatusAccepted {
				t.Errorf("POST %s = %d %s, want 202", tt.path, code, reply)
			}
			got := <-done
			if got.err != nil {
				t.Fatalf("Invoke() error = %v", got.err)
			}
			if got.res.RequestID != id {
				t.Errorf("Invoke().RequestID = %q, want %q", got.res.RequestID, id)
			}
			if string(got.res.Payload) != tt.wantPayload {
				t.Errorf("Invoke().Payload = %s, want %s", got.res.Payload, tt.wantPayload)
			}
			if diff := cmp.Diff(tt.wantErr, got.res.FunctionError); diff != "" {
				t.Errorf("Invoke().FunctionError (-want +got):\n%s", diff)
			}

			// The invocation is over: a second answer is refused.
			code, reply = rt.post("/invocation/"+id+"/response", nil, `{}`)
			var fe FunctionError
			if code != http.StatusBadRequest || json.Unmarshal([]byte(reply), &fe) != nil || fe.Type != "InvalidRequestID" {
				t.Errorf("second POST = %d %s, want 400 InvalidRequestID", code, reply)
			}
		})
	}
}

func TestServerInitError(t *testing.T) {
	s, rt := newTestServer(t)
	done := invokeAsync(s, `{}`, time.Minute)
	code, reply := rt.post("/init/error", nil, `{"errorMessage":"no config","errorType":"Config.Invalid"}`)
	if code != http.StatusAccepted {
		t.Errorf("POST init/error = %d %s, want 202", code, reply)
	}
	got := <-done
	var initErr *InitError
	if !errors.As(got.err, &initErr) {
		t.Fatalf("Invoke() error = %v, want an *InitError", got.err)
	}
	if want := (FunctionError{Type: "Config.Invalid", Message: "no config"}); initErr.FunctionError != want {
		t.Errorf("InitError = %+v, want %+v", initErr.FunctionError, want)
	}
}

func TestServerStops(t *testing.T) {
	tests := []struct {
		name    string
		stop    func(*Server, context.CancelCauseFunc)
		timeout time.Duration
		wantErr error
	}{
		{name: "timeout", stop: func(*Server, context.CancelCauseFunc) {}, timeout: 50 * time.Millisecond, wantErr: ErrTimeout},
		{name: "close", stop: func(s *Server, _ context.CancelCauseFunc) { s.Close() }, timeout: time.Minute, wantErr: ErrClosed},
		{name: "cancel with cause", stop: func(_ *Server, cancel context.CancelCauseFunc) { cancel(io.ErrUnexpectedEOF) }, timeout: time.Minute, wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Nobody calls /next: Invoke must still return.
			s, _ := newTestServer(t)
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			done := make(chan error, 1)
			go func() {
				_, err := s.Invoke(ctx, []byte(`{}`), tt.timeout)
				done <- err
			}()
			time.Sleep(20 * time.Millisecond)
			tt.stop(s, cancel)
			select {
			case err := <-done:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Invoke() error = %v, want %v", err, tt.wantErr)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Invoke() did not return")
			}
		})
	}
}
