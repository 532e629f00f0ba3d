package awsid

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

var topicNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

// parseARN parses s with aws/arn and checks what every ARN the suite reads
// has in common: a known partition, the expected service, and, where given,
// a 12-digit account. what names the kind in the error. The partition is
// checked by CheckPartition: one that exists and holds the ARN's Region.
func parseARN(s, service, what string) (arn.ARN, error) {
	a, err := arn.Parse(s)
	if err != nil {
		return arn.ARN{}, fmt.Errorf("%q is not %s: not an ARN", Clip(s, 120), what)
	}
	if a.Service != service {
		return arn.ARN{}, fmt.Errorf("%q is not %s: it is an ARN of service %q", Clip(s, 120), what, Clip(a.Service, 30))
	}
	if err := CheckPartition(a); err != nil {
		return arn.ARN{}, fmt.Errorf("%q is not %s: %v", Clip(s, 120), what, err)
	}
	return a, nil
}

// ParseSNSTopicARN checks that s is an SNS topic ARN,
// arn:PARTITION:sns:REGION:ACCOUNT:TOPIC, with a topic name SNS accepts.
func ParseSNSTopicARN(s string) (arn.ARN, error) {
	const what = "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:TOPIC)"
	a, err := parseARN(s, "sns", what)
	if err != nil {
		return a, err
	}
	if !IsRegion(a.Region) || !IsAccountID(a.AccountID) || !topicNamePattern.MatchString(a.Resource) {
		return arn.ARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return a, nil
}

// ParseRoleARN checks that s is an IAM role ARN,
// arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME.
func ParseRoleARN(s string) (arn.ARN, error) {
	const what = "an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)"
	a, err := parseARN(s, "iam", what)
	if err != nil {
		return a, err
	}
	name, ok := strings.CutPrefix(a.Resource, "role/")
	if a.Region != "" || !IsAccountID(a.AccountID) || !ok || name == "" || strings.HasSuffix(name, "/") {
		return arn.ARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return a, nil
}

// ImageARN is an Image Builder image (build version) ARN, parsed.
type ImageARN struct {
	arn.ARN
	Name, Version, Build string // Build is empty for an image version ARN
}

// ParseImageBuilderImageARN checks that s is an Image Builder image ARN,
// arn:PARTITION:imagebuilder:REGION:ACCOUNT:image/NAME/VERSION[/BUILD].
func ParseImageBuilderImageARN(s string) (ImageARN, error) {
	const what = "an Image Builder image ARN (arn:aws:imagebuilder:REGION:ACCOUNT:image/NAME/VERSION/BUILD)"
	a, err := parseARN(s, "imagebuilder", what)
	if err != nil {
		return ImageARN{}, err
	}
	parts := strings.Split(a.Resource, "/")
	if !IsRegion(a.Region) || !IsAccountID(a.AccountID) || parts[0] != "image" || len(parts) < 3 || len(parts) > 4 || slices.Contains(parts, "") {
		return ImageARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	im := ImageARN{ARN: a, Name: parts[1], Version: parts[2]}
	if len(parts) == 4 {
		im.Build = parts[3]
	}
	return im, nil
}

// ParseOrganizationARN checks that s is an organization's ARN,
// arn:PARTITION:organizations::MANAGEMENT-ACCOUNT:organization/o-….
func ParseOrganizationARN(s string) (arn.ARN, error) {
	const what = "an organization ARN (arn:aws:organizations::ACCOUNT:organization/o-…)"
	a, err := parseARN(s, "organizations", what)
	if err != nil {
		return a, err
	}
	id, ok := strings.CutPrefix(a.Resource, "organization/")
	if a.Region != "" || !IsAccountID(a.AccountID) || !ok || !IsOrganizationID(id) {
		return arn.ARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return a, nil
}

// ParseOUARN checks that s is an organizational unit's ARN,
// arn:PARTITION:organizations::MANAGEMENT-ACCOUNT:ou/o-…/ou-….
func ParseOUARN(s string) (arn.ARN, error) {
	const what = "an organizational unit ARN (arn:aws:organizations::ACCOUNT:ou/o-…/ou-…)"
	a, err := parseARN(s, "organizations", what)
	if err != nil {
		return a, err
	}
	parts := strings.Split(a.Resource, "/")
	if a.Region != "" || !IsAccountID(a.AccountID) || len(parts) != 3 || parts[0] != "ou" || !IsOrganizationID(parts[1]) || !IsOUID(parts[2]) {
		return arn.ARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return a, nil
}
