package main

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/testkit/approvaltest"
)

// Hostile requests beyond TestBadRequestsGetTheirStatusAndShareNothing's:
// oversize input, bodies that are not what they claim, odd shapes. Each
// gets a 4xx page with the usual headers, and no call writes anything: the
// calls are counted.
func TestBadEvents(t *testing.T) {
	f := newFixture(t, approvalURL)
	ami, token := f.singleRegion(t)
	big := strings.Repeat("x", 300_000)
	post := func(body string, mutate ...func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
		req := linkEvent(t, "post-approve.json", token)
		req.Body, req.IsBase64Encoded = base64.StdEncoding.EncodeToString([]byte(body)), true
		for _, m := range mutate {
			m(&req)
		}
		return req
	}
	tests := []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
	}{
		// Oversize.
		{"a 300 KB token in the query", linkEvent(t, "get.json", big)},
		{"a 300 KB form", post("token=" + token + "&decision=approve&pad=" + big)},
		{"a 300 KB decision", post("token=" + token + "&decision=" + big)},
		// Wrong types and shapes.
		{"a body that is not base64", post("", func(r *events.APIGatewayV2HTTPRequest) { r.Body = "%%%not base64%%%" })},
		{"a form that is not a form", post("%zz=%zz")},
		{"no method", post("token="+token+"&decision=approve", func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.HTTP.Method = "" })},
		{"an empty event", events.APIGatewayV2HTTPRequest{}},
		// A token in the wrong place.
		{"the token in a header only", post("decision=approve", func(r *events.APIGatewayV2HTTPRequest) { r.Headers["x-token"] = token })},
	}
	f.calls.Reset()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := f.serve(t, tt.req)
			if resp.StatusCode < 400 || resp.StatusCode >= 500 {
				t.Errorf("status = %d (%s), want a 4xx", resp.StatusCode, pageTitle(resp))
			}
			checkHeaders(t, resp)
			if len(resp.Body) > 20_000 || strings.Contains(resp.Body, "xxxxxxxx") {
				t.Errorf("page of %d bytes echoes the input", len(resp.Body))
			}
		})
	}
	if w := f.calls.Writes(); len(w) != 0 {
		t.Errorf("write calls = %v, want none", w)
	}
	if got := approvaltest.LaunchPermissions(t, f.env.EC2("us-east-1"), ami); len(got) != 0 {
		t.Errorf("launch permissions = %v, want none", got)
	}
	// An unknown extra field does not stop a real approval.
	if resp := f.serve(t, post("token="+token+"&decision=approve&utm_source=mail")); resp.StatusCode != http.StatusOK || pageOutcome(resp) != "shared" {
		t.Errorf("approve with an extra field = %d, outcome %q, want 200 shared", resp.StatusCode, pageOutcome(resp))
	}
}
