package approval

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

const sampleToken = "c2FtcGxlIGFwcHJvdmFsIHRva2VuOiBub3QgcmVhbCE" // #nosec G101 -- a test token: "sample approval token: not real!"

func sampleLinkEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	return sample.Event[events.APIGatewayV2HTTPRequest](t, "ami-approval-link", name)
}

func TestParseLinkRequestSamples(t *testing.T) {
	tests := []struct{ file, method, decision string }{
		{"get.json", "GET", ""},
		{"post-approve.json", "POST", Approve},
		{"post-reject.json", "POST", Reject},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseLinkRequest(sampleLinkEvent(t, tt.file))
			if err != nil {
				t.Fatalf("ParseLinkRequest = %v", err)
			}
			if got.Method != tt.method || got.Decision != tt.decision || got.Token.Secret() != sampleToken {
				t.Errorf("ParseLinkRequest = %s %q token ok %v, want %s %q", got.Method, got.Decision, got.Token.Secret() == sampleToken, tt.method, tt.decision)
			}
			if got.Who != (Who{SourceIP: "203.0.113.24", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"}) {
				t.Errorf("Who = %+v", got.Who)
			}
		})
	}
}

func TestParseLinkRequestRefuses(t *testing.T) {
	post := func(body string, edit ...func(*events.APIGatewayV2HTTPRequest)) events.APIGatewayV2HTTPRequest {
		req := sampleLinkEvent(t, "post-approve.json")
		req.Body = base64.StdEncoding.EncodeToString([]byte(body))
		for _, e := range edit {
			e(&req)
		}
		return req
	}
	get := func(query string) events.APIGatewayV2HTTPRequest {
		req := sampleLinkEvent(t, "get.json")
		req.RawQueryString = query
		return req
	}
	tests := []struct {
		name string
		req  events.APIGatewayV2HTTPRequest
		want error
	}{
		{"GET without token", get(""), ErrNoToken},
		{"GET with empty token", get("token="), ErrNoToken},
		{"GET with two tokens", get("token=" + sampleToken + "&token=" + sampleToken), ErrUnknownToken},
		{"GET with a short token", get("token=abc"), ErrUnknownToken},
		{"GET with a bad query", get("token=%zz"), ErrUnknownToken},
		{"POST plain body", post("", func(r *events.APIGatewayV2HTTPRequest) {
			r.Body, r.IsBase64Encoded = "token="+sampleToken+"&decision=sure", false
		}), ErrBadDecision},
		{"POST decision upper case", post("token=" + sampleToken + "&decision=APPROVE"), ErrBadDecision},
		{"POST no content type", post("token="+sampleToken+"&decision=approve", func(r *events.APIGatewayV2HTTPRequest) { delete(r.Headers, "content-type") }), ErrBadForm},
		{"POST multipart", post("token="+sampleToken+"&decision=approve", func(r *events.APIGatewayV2HTTPRequest) {
			r.Headers["content-type"] = "multipart/form-data; boundary=x"
		}), ErrBadForm},
		{"POST body not base64", post("", func(r *events.APIGatewayV2HTTPRequest) { r.Body = "%%%" }), ErrBadForm},
		{"POST body too large", post("token=" + sampleToken + "&decision=approve&pad=" + strings.Repeat("x", 2000)), ErrBadForm},
		{"OPTIONS", post("", func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.HTTP.Method = "OPTIONS" }), ErrMethod},
		{"no method", post("", func(r *events.APIGatewayV2HTTPRequest) { r.RequestContext.HTTP.Method = "" }), ErrMethod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ParseLinkRequest(tt.req); !errors.Is(err, tt.want) {
				t.Errorf("ParseLinkRequest = %+v, %v, want %v", got, err, tt.want)
			}
		})
	}
	t.Run("content type with charset and capitals", func(t *testing.T) {
		req := post("token="+sampleToken+"&decision=reject", func(r *events.APIGatewayV2HTTPRequest) {
			delete(r.Headers, "content-type")
			r.Headers["Content-Type"] = "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
		})
		if got, err := ParseLinkRequest(req); err != nil || got.Decision != Reject {
			t.Errorf("ParseLinkRequest = %+v, %v, want a reject", got, err)
		}
	})
}
