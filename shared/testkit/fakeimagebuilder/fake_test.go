package fakeimagebuilder

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const imageARN = "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2"

// client is the real SDK client, pointed at the fake as
// AWS_ENDPOINT_URL_IMAGEBUILDER would point it.
func client(s *Server, region string) *imagebuilder.Client {
	return imagebuilder.New(imagebuilder.Options{
		Region:       region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
	})
}

func TestGetImageWithTheSDK(t *testing.T) {
	s := New(t)
	created := time.Date(2026, 6, 1, 7, 3, 10, 0, time.UTC)
	s.PutImage(Image{
		ARN: imageARN, Name: "golden-al2023", Version: "1.0.4/2", Status: "AVAILABLE", Created: created,
		AMIs: []AMI{
			{Region: "us-east-1", ID: "ami-0123456789abcdef0", Name: "golden east", AccountID: "123456789012"},
			{Region: "eu-west-1", ID: "ami-0fedcba9876543210", Name: "golden west", AccountID: "210987654321"},
		},
	})

	out, err := client(s, "us-east-1").GetImage(context.Background(), &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(imageARN)})
	if err != nil {
		t.Fatalf("GetImage: %v", err)
	}
	im := out.Image
	if aws.ToString(im.Arn) != imageARN || im.State == nil || im.State.Status != types.ImageStatusAvailable || aws.ToString(im.DateCreated) != "2026-06-01T07:03:10.000Z" {
		t.Errorf("GetImage image = arn %q state %+v created %q", aws.ToString(im.Arn), im.State, aws.ToString(im.DateCreated))
	}
	type ami struct{ Region, ID, Name, Account string }
	var got []ami
	for _, a := range im.OutputResources.Amis {
		got = append(got, ami{aws.ToString(a.Region), aws.ToString(a.Image), aws.ToString(a.Name), aws.ToString(a.AccountId)})
	}
	want := []ami{
		{"us-east-1", "ami-0123456789abcdef0", "golden east", "123456789012"},
		{"eu-west-1", "ami-0fedcba9876543210", "golden west", "210987654321"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("output AMIs (-want +got):\n%s", diff)
	}

	calls := s.Calls("GetImage")
	if len(calls) != 1 || calls[0].Region != "us-east-1" || calls[0].Query.Get("imageBuildVersionArn") != imageARN || calls[0].Error != "" {
		t.Errorf("recorded calls = %+v, want one GetImage of %s signed for us-east-1", calls, imageARN)
	}
}

func TestGetImageErrorsWithTheSDK(t *testing.T) {
	s := New(t)
	c := client(s, "us-east-1")
	tests := []struct {
		name string
		arn  string
		fail *APIError
		want string // the SDK's error code
	}{
		{"unknown build", imageARN, nil, (&types.ResourceNotFoundException{}).ErrorCode()},
		{"not an image ARN", "arn:aws:sns:us-east-1:123456789012:topic", nil, (&types.InvalidParameterValueException{}).ErrorCode()},
		{"injected outage", imageARN, &APIError{Code: "ServiceUnavailableException", Status: 503}, (&types.ServiceUnavailableException{}).ErrorCode()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.fail != nil {
				s.Fail("GetImage", *tt.fail)
			}
			_, err := c.GetImage(context.Background(), &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(tt.arn)},
				func(o *imagebuilder.Options) { o.RetryMaxAttempts = 1 })
			var apiErr smithy.APIError
			if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.want {
				t.Errorf("GetImage(%s) error = %v, want the SDK's %s", tt.arn, err, tt.want)
			}
		})
	}
	if n := s.Count("GetImage"); n != len(tests) {
		t.Errorf("recorded GetImage calls = %d, want %d", n, len(tests))
	}
}
