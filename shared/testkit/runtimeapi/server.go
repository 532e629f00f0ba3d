// Package runtimeapi runs built Lambda binaries on this machine: a small
// implementation of the Lambda Runtime API (2018-06-01) and a Function that
// starts a bootstrap binary against it, one execution environment at a time.
// It stands in for the Runtime Interface Emulator, which cannot be installed
// here, so `make local` exercises the very binaries that `make build` ships.
package runtimeapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/testkit/wirefake"
)

// Runtime API headers and paths, as the runtime client in aws-lambda-go
// reads and writes them.
const (
	headerRequestID   = "Lambda-Runtime-Aws-Request-Id"
	headerDeadlineMS  = "Lambda-Runtime-Deadline-Ms"
	headerFunctionARN = "Lambda-Runtime-Invoked-Function-Arn"
	headerTraceID     = "Lambda-Runtime-Trace-Id"
	headerErrorType   = "Lambda-Runtime-Function-Error-Type"
	trailerErrorBody  = "Lambda-Runtime-Function-Error-Body"
	apiPrefix         = "/2018-06-01/runtime"
)

// ErrTimeout is returned when an invocation outlives its timeout.
var ErrTimeout = errors.New("task timed out")

// ErrClosed is returned by Invoke once the server or function is closed.
var ErrClosed = errors.New("runtime API closed")

// FunctionError is an error the function reported for one invocation, in
// Lambda's error shape.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// InitError is the error a runtime posted to /runtime/init/error: the
// function could not start, so no invocation can run.
type InitError struct{ FunctionError }

func (e *InitError) Error() string { return "init error: " + e.FunctionError.Error() }

// Result is the outcome of one invocation.
type Result struct {
	RequestID string
	// Payload is the response body when the function succeeded.
	Payload []byte
	// FunctionError is set, and Payload empty, when the function reported an error.
	FunctionError *FunctionError
	Duration      time.Duration
	// Log is what the function process wrote during the invocation (and,
	// on a cold start, during init). Function fills it even when Invoke
	// also returns an error, since that is where the reason usually is.
	Log []byte
}

type outcome struct {
	payload []byte
	err     *FunctionError
}

type invocation struct {
	id       string
	payload  []byte
	deadline time.Time
	traceID  string
	done     chan outcome // buffered: the handler never waits on Invoke
}

// Server serves the Runtime API for one execution environment on a free
// loopback port. Invocations are handed to the runtime one at a time.
type Server struct {
	functionARN string
	http        *wirefake.Server

	queue     chan *invocation
	closed    chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	inflight map[string]*invocation
	initErr  *InitError
	initDone chan struct{} // closed when an init error arrives
}

// NewServer starts a Runtime API server for the function with this ARN
// (passed to the runtime as the invoked function ARN).
func NewServer(functionARN string) (*Server, error) {
	s := &Server{
		functionARN: functionARN,
		queue:       make(chan *invocation),
		closed:      make(chan struct{}),
		inflight:    map[string]*invocation{},
		initDone:    make(chan struct{}),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+apiPrefix+"/invocation/next", s.next)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/response", s.response)
	mux.HandleFunc("POST "+apiPrefix+"/invocation/{id}/error", s.invocationError)
	mux.HandleFunc("POST "+apiPrefix+"/init/error", s.initError)
	var err error
	if s.http, err = wirefake.Serve(mux); err != nil {
		return nil, fmt.Errorf("serve runtime API: %w", err)
	}
	return s, nil
}

// Addr is host:port, the value of AWS_LAMBDA_RUNTIME_API.
func (s *Server) Addr() string { return s.http.Listener.Addr().String() }

// Close stops serving; a pending Invoke returns ErrClosed. A runtime
// blocked in /next holds its connection open: wirefake's Close cuts it
// rather than wait for it.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	s.http.Close()
	return nil
}

// InitError returns the error the runtime posted to /runtime/init/error, if any.
func (s *Server) InitError() *InitError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.initErr
}

// Invoke hands payload to the runtime's next /next call and waits for its
// response or error, at most timeout. A function error is a Result, not an
// error; err is for everything that stopped the invocation itself: ctx
// (its cause is returned, so callers can cancel with a reason), the timeout
// (ErrTimeout), an init error (*InitError) or Close (ErrClosed).
func (s *Server) Invoke(ctx context.Context, payload []byte, timeout time.Duration) (Result, error) {
	start := time.Now()
	inv := &invocation{
		id:       newRequestID(),
		payload:  payload,
		deadline: start.Add(timeout),
		traceID:  newTraceID(start),
		done:     make(chan outcome, 1),
	}
	res := Result{RequestID: inv.id}
	ctx, cancel := context.WithDeadlineCause(ctx, inv.deadline, fmt.Errorf("%w after %s", ErrTimeout, timeout))
	defer cancel()

	stopped := func() error {
		select {
		case <-s.initDone:
			return s.InitError()
		case <-s.closed:
			return ErrClosed
		default:
			return context.Cause(ctx)
		}
	}
	select {
	case s.queue <- inv:
	case <-ctx.Done():
		return res, stopped()
	case <-s.initDone:
		return res, stopped()
	case <-s.closed:
		return res, stopped()
	}
	defer s.forget(inv.id)

	select {
	case out := <-inv.done:
		res.Duration = time.Since(start)
		res.Payload, res.FunctionError = out.payload, out.err
		return res, nil
	case <-ctx.Done():
	case <-s.initDone:
	case <-s.closed:
	}
	res.Duration = time.Since(start)
	return res, stopped()
}

func (s *Server) forget(id string) {
	s.mu.Lock()
	delete(s.inflight, id)
	s.mu.Unlock()
}

func (s *Server) next(w http.ResponseWriter, r *http.Request) {
	var inv *invocation
	select {
	case inv = <-s.queue:
	case <-r.Context().Done():
		return
	case <-s.closed:
		writeError(w, http.StatusInternalServerError, "Runtime.Closed", "runtime API closed")
		return
	}
	s.mu.Lock()
	s.inflight[inv.id] = inv
	s.mu.Unlock()

	h := w.Header()
	h.Set(headerRequestID, inv.id)
	h.Set(headerDeadlineMS, strconv.FormatInt(inv.deadline.UnixMilli(), 10))
	h.Set(headerFunctionARN, s.functionARN)
	h.Set(headerTraceID, inv.traceID)
	h.Set("Content-Type", "application/json")
	_, _ = w.Write(inv.payload)
}

func (s *Server) response(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	// aws-lambda-go streams the response and, if producing it fails
	// midway, reports the failure in trailers instead.
	out := outcome{payload: body}
	if t := r.Trailer.Get(headerErrorType); t != "" {
		out = outcome{err: trailerError(t, r.Trailer.Get(trailerErrorBody))}
	}
	s.complete(w, r.PathValue("id"), out)
}

func (s *Server) invocationError(w http.ResponseWriter, r *http.Request) {
	fe, err := readFunctionError(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	s.complete(w, r.PathValue("id"), outcome{err: fe})
}

func (s *Server) initError(w http.ResponseWriter, r *http.Request) {
	fe, err := readFunctionError(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "InvalidRequest", err.Error())
		return
	}
	s.mu.Lock()
	if s.initErr == nil {
		s.initErr = &InitError{*fe}
		close(s.initDone)
	}
	s.mu.Unlock()
	writeAccepted(w)
}

func (s *Server) complete(w http.ResponseWriter, id string, out outcome) {
	s.mu.Lock()
	inv, ok := s.inflight[id]
	delete(s.inflight, id)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusBadRequest, "InvalidRequestID", fmt.Sprintf("no invocation in progress with request ID %q", id))
		return
	}
	inv.done <- out
	writeAccepted(w)
}

// readFunctionError reads Lambda's error shape; a body that is not that
// shape still yields an error, typed by the header as Lambda does.
func readFunctionError(r *http.Request) (*FunctionError, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	fe := &FunctionError{}
	if json.Unmarshal(body, fe) != nil || (fe.Type == "" && fe.Message == "") {
		fe = &FunctionError{Message: string(body)}
	}
	if fe.Type == "" {
		fe.Type = r.Header.Get(headerErrorType)
	}
	if fe.Type == "" {
		fe.Type = "Unhandled"
	}
	return fe, nil
}

func trailerError(errorType, encodedBody string) *FunctionError {
	fe := &FunctionError{Type: errorType}
	if body, err := base64.StdEncoding.DecodeString(encodedBody); err == nil {
		_ = json.Unmarshal(body, fe)
	}
	if fe.Type == "" {
		fe.Type = errorType
	}
	return fe
}

func writeAccepted(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	_, _ = w.Write([]byte(`{"status":"OK"}`))
}

func writeError(w http.ResponseWriter, status int, errorType, message string) {
	body, _ := json.Marshal(FunctionError{Type: errorType, Message: message})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// newRequestID returns a random UUID, the shape of Lambda's request IDs.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// newTraceID returns an X-Ray trace header, not sampled.
func newTraceID(t time.Time) string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("Root=1-%08x-%s;Parent=%s;Sampled=0", t.Unix(), h[:24], h[24:40])
}
