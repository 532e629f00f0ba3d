package approval

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/ebs-ops/lambda-suite/shared/testkit/fakeimagebuilder"
	"github.com/google/go-cmp/cmp"
)

func TestBuildVouch(t *testing.T) {
	east := AMI{Region: "us-east-1", ID: "ami-0123456789abcdef0"}
	west := AMI{Region: "eu-west-1", ID: "ami-0fedcba9876543210"}
	available := Build{ARN: testBuild, Status: StatusAvailable, AMIs: []AMI{east, west}}
	tests := []struct {
		name    string
		build   Build
		claimed []AMI
		want    string // a part of the refusal; "" when vouched for
	}{
		{"every AMI listed", available, []AMI{east, west}, ""},
		{"some listed AMIs", available, []AMI{west}, ""},
		{"an AMI not listed", available, []AMI{east, {Region: "us-east-1", ID: "ami-0aaaabbbbccccdddd"}},
			"ami-0aaaabbbbccccdddd in us-east-1: Image Builder does not list this AMI as an output of build " + testBuild},
		{"a listed ID in another Region", available, []AMI{{Region: "us-west-2", ID: east.ID}}, east.ID + " in us-west-2: Image Builder does not list"},
		{"no such build", Build{ARN: testBuild}, []AMI{east}, "Image Builder has no build " + testBuild},
		{"build not available", Build{ARN: testBuild, Status: "FAILED", AMIs: []AMI{east}}, []AMI{east}, "as FAILED, not AVAILABLE"},
		{"access denied", Build{ARN: testBuild, Denied: true}, []AMI{east}, "access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.build.Vouch(tt.claimed)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("Vouch(%v) = %q, want %q", tt.claimed, got, tt.want)
			}
		})
	}
}

// TestGetBuild: only the build's AMIs in the build's own account count,
// once each; an unknown build and a refused question are no build.
func TestGetBuild(t *testing.T) {
	ib := fakeimagebuilder.New(t)
	ib.PutImage(fakeimagebuilder.Image{ARN: testBuild, Status: StatusAvailable, AMIs: []fakeimagebuilder.AMI{
		{Region: "us-east-1", ID: "ami-0123456789abcdef0", AccountID: "123456789012"},
		{Region: "us-east-1", ID: "ami-0aaaabbbbccccdddd", AccountID: "210987654321"}, // distributed elsewhere
		{Region: "eu-west-1", ID: "ami-0fedcba9876543210", AccountID: "123456789012"},
		{Region: "eu-west-1", ID: "ami-0fedcba9876543210", AccountID: "123456789012"},
	}})
	builds := &Regional[BuildAPI]{New: func(region string) BuildAPI {
		return imagebuilder.New(imagebuilder.Options{Region: region, BaseEndpoint: aws.String(ib.URL),
			Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", ""), RetryMaxAttempts: 1})
	}}
	ctx := context.Background()

	b, err := getBuild(ctx, builds, testBuild)
	want := Build{ARN: testBuild, Status: StatusAvailable, AMIs: []AMI{
		{Region: "us-east-1", ID: "ami-0123456789abcdef0"}, {Region: "eu-west-1", ID: "ami-0fedcba9876543210"},
	}}
	if err != nil || !cmp.Equal(b, want) {
		t.Errorf("getBuild = %+v, %v, want %+v", b, err, want)
	}

	other := "arn:aws:imagebuilder:us-east-1:123456789012:image/other/1.0.0/1"
	if b, err := getBuild(ctx, builds, other); err != nil || b.Found() {
		t.Errorf("getBuild(unknown) = %+v, %v, want no build and no error", b, err)
	}
	ib.Fail("GetImage", fakeimagebuilder.APIError{Code: "AccessDeniedException", Status: 403})
	if b, err := getBuild(ctx, builds, testBuild); err != nil || !b.Denied {
		t.Errorf("getBuild(denied) = %+v, %v, want Denied and no error", b, err)
	}
	ib.Fail("GetImage", fakeimagebuilder.APIError{Code: "ServiceUnavailableException", Status: 503})
	if _, err := getBuild(ctx, builds, testBuild); err == nil {
		t.Errorf("getBuild(outage) = nil error, want one: nothing is decided on doubt")
	}
	if calls := ib.Calls("GetImage"); len(calls) != 4 || calls[0].Region != "us-east-1" {
		t.Errorf("GetImage calls = %+v, want 4, in the build's Region", calls)
	}
}
