package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ebs-ops/lambda-suite/shared/testkit/wirefake"
)

// tally counts AWS API calls by "Service.Operation", and the time at
// least one was waiting for its answer (the emulator's share of a run).
type tally struct {
	mu        sync.Mutex
	n         map[string]int
	inflight  int
	busySince time.Time
	busy      time.Duration
}

// begin records a call to op and returns the function that ends it.
func (t *tally) begin(op string) (end func()) {
	t.mu.Lock()
	t.n[op]++
	if t.inflight == 0 {
		t.busySince = time.Now()
	}
	t.inflight++
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		t.inflight--
		if t.inflight == 0 {
			t.busy += time.Since(t.busySince)
		}
		t.mu.Unlock()
	}
}

// waited returns the time spent waiting on answers so far, and starts again.
func (t *tally) waited() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.busy
	t.busy = 0
	return d
}

func newTally() *tally { return &tally{n: map[string]int{}} }

// take returns the counts so far and starts again.
func (t *tally) take() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.n
	t.n = map[string]int{}
	return out
}

// counter is a loopback proxy in front of one endpoint (moto, a stand-in,
// a fake) that counts every call a built function makes through it: the
// binaries are measured as they ship, without test middleware in them.
type counter struct {
	*wirefake.Server // URL, Close
	tally            *tally
}

func startCounter(target string, t *tally) (*counter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	c := &counter{tally: t}
	c.Server, err = wirefake.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		end := t.begin(operation(r, body))
		defer end()
		proxy.ServeHTTP(w, r)
	}))
	if err != nil {
		return nil, err
	}
	return c, nil
}

var (
	credentialScope = regexp.MustCompile(`Credential=[^/]+/[^/]+/[^/]+/([^/]+)/`)
	// Signing names that differ from the names the report uses.
	serviceNames = map[string]string{
		"ec2": "EC2", "monitoring": "CloudWatch", "sns": "SNS", "sqs": "SQS", "dynamodb": "DynamoDB",
		"kms": "KMS", "health": "Health", "codepipeline": "CodePipeline", "scheduler": "Scheduler", "sts": "STS",
		"imagebuilder": "ImageBuilder",
	}
	// REST operations (EventBridge Scheduler's) by method.
	restVerbs = map[string]string{http.MethodPost: "Create", http.MethodGet: "Get", http.MethodPut: "Update", http.MethodDelete: "Delete"}
)

// operation names an AWS request "Service.Operation" from the wire:
// the JSON protocols' X-Amz-Target, the query protocol's Action, Smithy
// RPC v2's path, or for REST the method and the resource.
func operation(r *http.Request, body []byte) string {
	service := "?"
	if m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
		service = m[1]
		if name, ok := serviceNames[service]; ok {
			service = name
		}
	}
	if target := r.Header.Get("X-Amz-Target"); target != "" {
		return service + "." + target[strings.LastIndexByte(target, '.')+1:]
	}
	if _, op, ok := strings.Cut(r.URL.Path, "/operation/"); ok {
		return service + "." + op
	}
	if r.Method == http.MethodPost {
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			return service + "." + form.Get("Action")
		}
	}
	if a := r.URL.Query().Get("Action"); a != "" {
		return service + "." + a
	}
	// REST with the operation as the path (Image Builder's /GetImage).
	segs := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(segs) == 1 && segs[0] != "" && unicode.IsUpper(rune(segs[0][0])) {
		return service + "." + segs[0]
	}
	// REST: /schedules/{name} → CreateSchedule, GetSchedule, ...
	resource := strings.TrimSuffix(segs[0], "s")
	if resource != "" {
		resource = strings.ToUpper(resource[:1]) + resource[1:]
	}
	verb := restVerbs[r.Method]
	if r.Method == http.MethodGet && len(segs) == 1 {
		return service + ".List" + resource + "s"
	}
	return service + "." + verb + resource
}
