package approval

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
)

func FuzzParseImage(f *testing.F) {
	for _, name := range slices.Sorted(maps.Keys(sample.All(f, "ami-approval-request"))) {
		if strings.HasPrefix(name, "workflow-") {
			continue // an EventBridge event (FuzzParseStepWaiting), not an SNS one
		}
		f.Add(sampleMessage(f, name))
	}
	for _, seed := range []string{
		`{"arn":"arn:aws-cn:imagebuilder:cn-north-1:123456789012:image/golden/1.0.0/1","type":"AMI","state":{"status":"AVAILABLE"},"outputResources":{"amis":[{"region":"cn-north-1","image":"ami-0123456789abcdef0"}]}}`,
		`{"arn":"arn:aws-us-gov:imagebuilder:us-gov-west-1:123456789012:image/golden/1.0.0/1","type":"AMI","state":{"status":"AVAILABLE"},"outputResources":{"amis":[{"region":"us-gov-west-1","image":"ami-0123456789abcdef0"}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		im, err := ParseImage(msg)
		if err != nil {
			if !errors.Is(err, ErrNotImage) {
				t.Fatalf("error %v does not wrap ErrNotImage", err)
			}
			return
		}
		if im.Status == "" || im.Available() && len(im.AMIs) == 0 {
			t.Fatalf("accepted %+v", im)
		}
		for _, a := range append(im.AMIs, im.Elsewhere...) {
			if !awsid.IsRegion(a.Region) || !awsid.IsAMIID(a.ID) {
				t.Fatalf("accepted AMI %+v", a)
			}
		}
	})
}

func FuzzParseLinkRequest(f *testing.F) {
	for _, name := range []string{"get.json", "post-approve.json", "post-reject.json"} {
		f.Add(sample.Bytes(f, "ami-approval-link", name))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var req events.APIGatewayV2HTTPRequest
		if json.Unmarshal(raw, &req) != nil {
			return
		}
		lr, err := ParseLinkRequest(req)
		if err != nil {
			for _, known := range []error{ErrMethod, ErrNoToken, ErrUnknownToken, ErrBadDecision, ErrBadForm} {
				if errors.Is(err, known) {
					return
				}
			}
			t.Fatalf("error %v is none of the page errors", err)
		}
		if _, err := ParseToken(lr.Token.Secret()); err != nil {
			t.Fatalf("accepted token that does not parse: %v", err)
		}
		switch {
		case lr.Method == http.MethodGet && lr.Decision == "":
		case lr.Method == http.MethodPost && (lr.Decision == Approve || lr.Decision == Reject):
		default:
			t.Fatalf("accepted %s with decision %q", lr.Method, lr.Decision)
		}
		if len(lr.Who.UserAgent) > maxUserAgent {
			t.Fatalf("kept a %d-byte user agent", len(lr.Who.UserAgent))
		}
	})
}
