package apigateway

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/approval"
)

const sampleToken = "c2FtcGxlIGFwcHJvdmFsIHRva2VuOiBub3QgcmVhbCE" // #nosec G101 -- a test token: "sample approval token: not real!"

// TestHandlerTranslatesAsAPIGateway: the adapter hands the function the
// request as API Gateway would (form bodies base64-encoded, header names in
// lower case) and writes back the function's status, headers and body.
func TestHandlerTranslatesAsAPIGateway(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	srv := httptest.NewServer(Handler(func(_ context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		got = req
		return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusGone, Headers: map[string]string{"Cache-Control": "no-store"}, Body: "<p>gone</p>"}, nil
	}))
	defer srv.Close()

	resp, err := http.PostForm(srv.URL+"/?token=abc", url.Values{"token": {sampleToken}, "decision": {"approve"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || resp.Header.Get("Cache-Control") != "no-store" || string(body) != "<p>gone</p>" {
		t.Errorf("response = %d %v %q", resp.StatusCode, resp.Header, body)
	}
	if got.RequestContext.HTTP.Method != http.MethodPost || got.RawQueryString != "token=abc" || got.RequestContext.HTTP.SourceIP != "127.0.0.1" ||
		got.Headers["content-type"] != "application/x-www-form-urlencoded" || !got.IsBase64Encoded {
		t.Errorf("request = %+v", got)
	}
	lr, err := approval.ParseLinkRequest(got)
	if err != nil || lr.Decision != approval.Approve || lr.Token.Secret() != sampleToken {
		t.Errorf("ParseLinkRequest(adapted) = %+v, %v", lr, err)
	}
}
