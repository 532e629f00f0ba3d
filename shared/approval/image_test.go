package approval

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/testkit/sample"
	"github.com/google/go-cmp/cmp"
)

// sampleMessage returns the SNS message of a sample event.
func sampleMessage(t testing.TB, name string) []byte {
	t.Helper()
	var ev events.SNSEvent
	if err := json.Unmarshal(sample.Bytes(t, "ami-approval-request", name), &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("%s: %v", name, err)
	}
	return []byte(ev.Records[0].SNS.Message)
}

func TestParseImageSamples(t *testing.T) {
	east := AMI{Region: "us-east-1", ID: "ami-0123456789abcdef0", Name: "golden-al2023 2026-06-01T07-03-10.104Z"}
	west := AMI{Region: "eu-west-1", ID: "ami-0fedcba9876543210", Name: "golden-al2023 2026-06-01T07-03-10.104Z"}
	tests := []struct {
		file string
		want Image
	}{
		{"available-single-region.json", Image{
			ARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2", Name: "golden-al2023", Version: "1.0.4",
			Status: "AVAILABLE", AccountID: "123456789012",
			Created: time.Date(2026, 6, 1, 7, 2, 41, 0, time.UTC), // "Jun 1, 2026 7:02:41 AM"
			AMIs:    []AMI{east},
		}},
		{"available-multi-region.json", Image{
			ARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.5/1", Name: "golden-al2023", Version: "1.0.5",
			Status: "AVAILABLE", AccountID: "123456789012",
			Created:   time.Date(2026, 6, 1, 7, 2, 41, 905e6, time.UTC),
			AMIs:      []AMI{east, west},
			Elsewhere: []AMI{{Region: "us-east-1", ID: "ami-0aaaabbbbccccdddd", Name: "golden-al2023 2026-06-01T07-03-10.104Z"}},
		}},
		{"failed.json", Image{
			ARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.6/1", Name: "golden-al2023", Version: "1.0.6",
			Status: "FAILED", Reason: "Image Builder could not run the test workflow: instance i-0abc123 failed the reachability check.",
			AccountID: "123456789012", Created: time.Date(2026, 6, 1, 7, 2, 41, 0, time.UTC),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseImage(sampleMessage(t, tt.file))
			if err != nil {
				t.Fatalf("ParseImage = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseImage (-want +got):\n%s", diff)
			}
			if got.Available() != (tt.want.Status == StatusAvailable) {
				t.Errorf("Available() = %v for status %s", got.Available(), got.Status)
			}
		})
	}
	if _, err := ParseImage(sampleMessage(t, "not-an-image.json")); !errors.Is(err, ErrNotImage) {
		t.Errorf("ParseImage(not-an-image.json) = %v, want ErrNotImage", err)
	}
}

func TestParseImageRejects(t *testing.T) {
	const arn = `"arn":"arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1"`
	tests := []struct{ name, msg string }{
		{"not JSON", `Build finished`},
		{"empty", ``},
		{"array", `[]`},
		{"two objects", `{` + arn + `,"state":{"status":"FAILED"}}{}`},
		{"no ARN", `{"state":{"status":"FAILED"}}`},
		{"recipe ARN", `{"arn":"arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/app/1.0.0","state":{"status":"FAILED"}}`},
		{"other service", `{"arn":"arn:aws:ec2:us-east-1:123456789012:image/ami-0123456789abcdef0","state":{"status":"AVAILABLE"}}`},
		{"no status", `{` + arn + `}`},
		{"container image", `{` + arn + `,"type":"DOCKER","state":{"status":"AVAILABLE"}}`},
		{"AVAILABLE without AMIs", `{` + arn + `,"state":{"status":"AVAILABLE"},"outputResources":{"amis":[]}}`},
		{"AVAILABLE with AMIs of other accounts only", `{` + arn + `,"state":{"status":"AVAILABLE"},"outputResources":{"amis":[{"region":"us-east-1","image":"ami-0123456789abcdef0","accountId":"999999999999"}]}}`},
		{"bad AMI ID", `{` + arn + `,"state":{"status":"AVAILABLE"},"outputResources":{"amis":[{"region":"us-east-1","image":"ami-XYZ"}]}}`},
		{"Region that is a host", `{` + arn + `,"state":{"status":"AVAILABLE"},"outputResources":{"amis":[{"region":"169.254.169.254","image":"ami-0123456789abcdef0"}]}}`},
		{"status not a string", `{` + arn + `,"state":{"status":1}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if im, err := ParseImage([]byte(tt.msg)); !errors.Is(err, ErrNotImage) {
				t.Errorf("ParseImage = %+v, %v, want ErrNotImage", im, err)
			}
		})
	}
}

func TestParseImageIsLenient(t *testing.T) {
	base := `{"arn":"arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1","state":{"status":"FAILED"},` +
		`"semver":1237940039285380277046607873,"unknownField":{"x":[1,2]},"dateCreated":%s}`
	want := time.Date(2022, 3, 2, 19, 19, 19, 0, time.UTC)
	tests := []struct {
		name, date string
		want       time.Time
	}{
		{"Java default", `"Mar 2, 2022 7:19:19 PM"`, want},
		{"Java with narrow no-break space", "\"Mar 2, 2022 7:19:19\u202fPM\"", want},
		{"Java with comma after the year", `"Mar 2, 2022, 7:19:19 PM"`, want},
		{"ISO 8601", `"2022-03-02T19:19:19Z"`, want},
		{"ISO 8601 with fraction and offset", `"2022-03-02T20:19:19.000+01:00"`, want},
		{"epoch milliseconds", `1646248759000`, want},
		{"epoch seconds", `1646248759`, want},
		{"unreadable", `"last Tuesday"`, time.Time{}},
		{"object", `{"when":"now"}`, time.Time{}},
		{"null", `null`, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			im, err := ParseImage([]byte(fmt.Sprintf(base, tt.date)))
			if err != nil {
				t.Fatalf("ParseImage = %v, want the date read leniently", err)
			}
			if !im.Created.Equal(tt.want) {
				t.Errorf("Created = %v, want %v", im.Created, tt.want)
			}
		})
	}
}
