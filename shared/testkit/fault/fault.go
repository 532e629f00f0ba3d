// Package fault injects AWS faults between a function's SDK clients and the
// local emulator, for tests only: throttling, server errors, time-outs and
// latency, on a chosen operation and share of its calls.
//
// It is an http.RoundTripper, so a faulted call goes through everything the
// production client has: the answer is the service's own error on the wire
// (EC2 XML, the query protocol's XML, or JSON with X-Amzn-ErrorType),
// parsed by the SDK's deserializer and judged by the SDK's retryer exactly
// as a real throttle or outage would be.
package fault

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// Wrap returns a copy of cfg whose calls go through a Transport with rules,
// and whose retryer is the production one (the SDK's standard retryer: its
// retryable errors, its three attempts) with only the backoff shortened and
// the client-side rate limit off, so a test under faults is quick but
// retries exactly what a function in Lambda would.
func Wrap(cfg aws.Config, rules ...Rule) (aws.Config, *Transport) {
	out := cfg.Copy()
	base := http.DefaultTransport
	tr := New(base, rules...)
	out.HTTPClient = &http.Client{Transport: tr}
	out.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
			o.RateLimiter = ratelimit.None
		})
	}
	return out, tr
}

// Rule says which calls fail and how. Service and Operation match the SDK's
// service ID ("EC2", "CloudWatch", "DynamoDB", …) and operation name
// ("DescribeVolumes"); empty matches any.
type Rule struct {
	Service, Operation string
	// Share of the matching calls that fail, 0 < Share <= 1, spread evenly
	// and deterministically (0.5 fails every second call). Zero means 1.
	Share float64
	// Times caps how many calls the rule fails; zero means no cap.
	Times int

	// What a failed call gets: Status and Code build the service's error
	// answer (Throttle, ServerError and Unavailable are ready-made). Timeout
	// holds the call until its context ends instead. Latency delays the
	// call, failed or not; a rule with only Latency slows calls down.
	Status  int
	Code    string
	Timeout bool
	Latency time.Duration
}

// Ready-made faults. Code is the service's own error code where one exists;
// the SDK's retryer knows each of them.
func Throttle(service, operation string) Rule {
	code := "ThrottlingException"
	switch service {
	case "EC2":
		code = "RequestLimitExceeded"
	case "CloudWatch", "SNS":
		code = "Throttling"
	}
	return Rule{Service: service, Operation: operation, Status: http.StatusBadRequest, Code: code}
}

// ServerError is a 500 InternalFailure.
func ServerError(service, operation string) Rule {
	return Rule{Service: service, Operation: operation, Status: http.StatusInternalServerError, Code: "InternalFailure"}
}

// Unavailable is a 503 ServiceUnavailable.
func Unavailable(service, operation string) Rule {
	return Rule{Service: service, Operation: operation, Status: http.StatusServiceUnavailable, Code: "ServiceUnavailable"}
}

// TooManyRequests is a bare 429, as a load balancer in front of a service answers.
func TooManyRequests(service, operation string) Rule {
	return Rule{Service: service, Operation: operation, Status: http.StatusTooManyRequests, Code: "TooManyRequestsException"}
}

// Transport applies rules to the calls it carries. The zero value injects
// nothing; Base defaults to http.DefaultTransport.
type Transport struct {
	Base http.RoundTripper

	mu       sync.Mutex
	rules    []*state
	injected map[string]int
}

type state struct {
	Rule
	seen, failed int
}

// New returns a Transport over base with rules.
func New(base http.RoundTripper, rules ...Rule) *Transport {
	t := &Transport{Base: base}
	t.Set(rules...)
	return t
}

// Set replaces the rules; Set() with none ends every fault, so a test can
// show what converges once the faults stop.
func (t *Transport) Set(rules ...Rule) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.rules = t.rules[:0]
	for _, r := range rules {
		if r.Share <= 0 || r.Share > 1 {
			r.Share = 1
		}
		t.rules = append(t.rules, &state{Rule: r})
	}
}

// Injected is how many calls of "Service.Operation" got a fault (latency
// alone does not count).
func (t *Transport) Injected(service, operation string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.injected[service+"."+operation]
}

// RoundTrip carries req, or answers it with the fault a rule gives.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	rule := t.pick(service, op)
	if rule.Latency > 0 {
		select {
		case <-time.After(rule.Latency):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	switch {
	case rule.Timeout:
		<-ctx.Done()
		return nil, fmt.Errorf("fault: %s.%s held until the deadline: %w", service, op, ctx.Err())
	case rule.Status != 0:
		if req.Body != nil {
			io.Copy(io.Discard, req.Body) //nolint:errcheck // the request is answered here
			req.Body.Close()
		}
		return errorResponse(req, service, rule.Status, rule.Code), nil
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(req)
}

// pick counts the call against every matching rule and returns the fault it
// gets: the first rule whose turn it is to fail, plus the largest latency.
func (t *Transport) pick(service, op string) Rule {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out Rule
	for _, r := range t.rules {
		if (r.Service != "" && r.Service != service) || (r.Operation != "" && r.Operation != op) {
			continue
		}
		r.seen++
		out.Latency = max(out.Latency, r.Latency)
		if out.Status != 0 || out.Timeout || (r.Status == 0 && !r.Timeout) {
			continue
		}
		due := int(float64(r.seen)*r.Share) > int(float64(r.seen-1)*r.Share)
		if !due || (r.Times > 0 && r.failed >= r.Times) {
			continue
		}
		r.failed++
		out.Status, out.Code, out.Timeout = r.Status, r.Code, r.Timeout
		if t.injected == nil {
			t.injected = map[string]int{}
		}
		t.injected[service+"."+op]++
	}
	return out
}

// errorResponse is the service's error answer in its own protocol, so the
// SDK's deserializer yields the error code a real fault would.
func errorResponse(req *http.Request, service string, status int, code string) *http.Response {
	const requestID = "fault-injected-0000"
	msg := fmt.Sprintf("fault injected by the test: %s", code)
	h := http.Header{"X-Amzn-Requestid": {requestID}}
	var body string
	switch service {
	case "EC2":
		h.Set("Content-Type", "text/xml")
		body = fmt.Sprintf(`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>%s</RequestID></Response>`, code, msg, requestID)
	case "CloudWatch", "SNS", "IAM", "STS", "Auto Scaling":
		h.Set("Content-Type", "text/xml")
		kind := "Sender"
		if status >= 500 {
			kind = "Receiver"
		}
		body = fmt.Sprintf(`<ErrorResponse><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`, kind, code, msg, requestID)
	default: // the JSON protocols: awsJson1.0/1.1 and REST-JSON
		h.Set("Content-Type", "application/x-amz-json-1.1")
		h.Set("X-Amzn-Errortype", code)
		body = fmt.Sprintf(`{"__type":%q,"message":%q}`, code, msg)
		// DynamoDB's client checks this, as it would a real answer's.
		h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(body))), 10))
	}
	return &http.Response{
		Status:        fmt.Sprintf("%d %s", status, http.StatusText(status)),
		StatusCode:    status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader([]byte(body))),
		ContentLength: int64(len(body)),
		Request:       req,
	}
}
