// Package apigateway serves a Lambda handler of an API Gateway HTTP API
// over plain HTTP, for tests and local runs: a browser, or curl, drives the
// real handler as API Gateway would. It is tooling, never linked into a
// function: in AWS, API Gateway is the adapter.
package apigateway

import (
	"context"
	"encoding/base64"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Func is a Lambda handler behind an API Gateway HTTP API.
type Func func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler serves fn over plain HTTP, translating each request as API
// Gateway does for payload format 2.0 and each response back.
func Handler(fn Func) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
			return
		}
		req := events.APIGatewayV2HTTPRequest{
			Version:        "2.0",
			RouteKey:       "$default",
			RawPath:        r.URL.EscapedPath(),
			RawQueryString: r.URL.RawQuery,
			Headers:        map[string]string{},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RouteKey:   "$default",
				Stage:      "$default",
				RequestID:  strconv.FormatInt(time.Now().UnixNano(), 36),
				DomainName: r.Host,
				TimeEpoch:  time.Now().UnixMilli(),
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
					Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, UserAgent: r.UserAgent(),
				},
			},
		}
		req.RequestContext.HTTP.SourceIP, _, _ = net.SplitHostPort(r.RemoteAddr)
		for name, values := range r.Header {
			req.Headers[strings.ToLower(name)] = strings.Join(values, ",")
		}
		if len(r.URL.Query()) > 0 {
			req.QueryStringParameters = map[string]string{}
			for k, v := range r.URL.Query() {
				req.QueryStringParameters[k] = strings.Join(v, ",")
			}
		}
		if len(body) > 0 {
			// API Gateway passes text types as they are and base64-encodes
			// every other body, form posts included.
			if isText(r.Header.Get("Content-Type")) {
				req.Body = string(body)
			} else {
				req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
			}
		}

		resp, err := fn(r.Context(), req)
		if err != nil {
			// API Gateway answers a function error with a bare 500.
			http.Error(w, `{"message":"Internal Server Error"}`, http.StatusInternalServerError)
			return
		}
		for k, v := range resp.Headers {
			w.Header().Set(k, v)
		}
		for k, vs := range resp.MultiValueHeaders {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		out := []byte(resp.Body)
		if resp.IsBase64Encoded {
			if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
				http.Error(w, "response body is not base64", http.StatusBadGateway)
				return
			}
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(out)
	})
}

func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || mt == "application/xml" || mt == "application/javascript"
}
