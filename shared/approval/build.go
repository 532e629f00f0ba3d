package approval

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/imagebuilder"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Build is what Image Builder itself says of a build (GetImage): the one
// source the approval trusts for which AMIs a build made. The SNS message
// is only a hint, and tags can be set by anyone allowed to tag images.
type Build struct {
	ARN    string
	Status string // AVAILABLE, FAILED, ...; "" when Image Builder has no such build
	// Name, Version and Reason are Image Builder's: the build's name and
	// version, and its reason for a status other than AVAILABLE. Emails
	// take them from here, never from the message.
	Name, Version, Reason string
	// AMIs are the build's output AMIs in the build's own account (the ARN's
	// account, the one the functions run in), one per Region.
	AMIs []AMI
	// Denied: Image Builder would not say (AccessDenied). The stack allows
	// GetImage on this account's images only, so a message naming another
	// account's build ends here.
	Denied bool
}

// Found says whether Image Builder knows the build.
func (b Build) Found() bool { return b.Status != "" }

// Lists says whether Image Builder lists ami (same ID, same Region) as an
// output of the build in its own account.
func (b Build) Lists(ami AMI) bool {
	for _, a := range b.AMIs {
		if a.ID == ami.ID && a.Region == ami.Region {
			return true
		}
	}
	return false
}

// Vouch says why claimed AMIs must not be shared as this build's, or ""
// when Image Builder lists every one of them. One AMI it does not list
// refuses the whole request: a message that names a foreign AMI is forged
// or wrong, and nothing it says is worth acting on (see docs/ami-approval.md).
func (b Build) Vouch(claimed []AMI) string {
	switch {
	case b.Denied:
		return fmt.Sprintf("Image Builder would not describe build %s to this function (access denied: not a build of this account?)", b.ARN)
	case !b.Found():
		return fmt.Sprintf("Image Builder has no build %s", b.ARN)
	case b.Status != StatusAvailable:
		return fmt.Sprintf("Image Builder reports build %s as %s, not %s", b.ARN, b.Status, StatusAvailable)
	}
	var out []string
	for _, a := range claimed {
		if !b.Lists(a) {
			out = append(out, fmt.Sprintf("%s in %s: Image Builder does not list this AMI as an output of build %s", a.ID, a.Region, b.ARN))
		}
	}
	return strings.Join(out, "; ")
}

// Contradicts says how Image Builder contradicts a message that reports
// the build in status (not AVAILABLE: Vouch checks those), or "" when
// Image Builder reports the build so too. A FAILED message for a build
// Image Builder does not know (the next build's ARN, before it exists) or
// reports otherwise is forged or wrong: it must neither claim the build,
// which would make the real message a duplicate, nor tell the approvers.
func (b Build) Contradicts(status string) string {
	switch {
	case b.Denied:
		return fmt.Sprintf("the message says %s, and Image Builder would not describe build %s to this function (access denied: not a build of this account?)", status, b.ARN)
	case !b.Found():
		return fmt.Sprintf("the message says %s, but Image Builder has no build %s", status, b.ARN)
	case b.Status != status:
		return fmt.Sprintf("the message says %s, but Image Builder reports it %s (build %s)", status, b.Status, b.ARN)
	}
	return ""
}

// Label names the build for an email, as Image Builder does, or as its
// ARN does when Image Builder did not say: never as a message does.
func (b Build) Label() (name, version string) {
	name, version = b.Name, b.Version
	if a, err := awsid.ParseImageBuilderImageARN(b.ARN); err == nil {
		name, version = cmp.Or(name, a.Name), cmp.Or(version, a.Version)
	}
	return name, version
}

// getBuild asks Image Builder, in the build's Region, for the build. A
// build it does not know is a Build without Status; any other error is one
// a retry may fix, and nothing is decided on it.
func getBuild(ctx context.Context, builds *Regional[BuildAPI], imageARN string) (Build, error) {
	a, err := awsid.ParseImageBuilderImageARN(imageARN)
	if err != nil {
		return Build{}, fmt.Errorf("image ARN: %w", err)
	}
	b := Build{ARN: imageARN}
	out, err := builds.In(a.Region).GetImage(ctx, &imagebuilder.GetImageInput{ImageBuildVersionArn: aws.String(imageARN)})
	switch {
	case hasCode(err, "ResourceNotFoundException"):
		return b, nil
	case hasCode(err, "AccessDeniedException"):
		b.Denied = true
		return b, nil
	case err != nil:
		return Build{}, fmt.Errorf("ask Image Builder for %s: %w", imageARN, err)
	case out.Image == nil:
		return b, nil
	}
	b.Name, b.Version = aws.ToString(out.Image.Name), aws.ToString(out.Image.Version)
	if out.Image.State != nil {
		b.Status, b.Reason = string(out.Image.State.Status), aws.ToString(out.Image.State.Reason)
	}
	if out.Image.OutputResources == nil {
		return b, nil
	}
	for _, o := range out.Image.OutputResources.Amis {
		ami := AMI{Region: aws.ToString(o.Region), ID: aws.ToString(o.Image)}
		if aws.ToString(o.AccountId) != a.AccountID || b.Lists(ami) {
			continue
		}
		b.AMIs = append(b.AMIs, ami)
	}
	return b, nil
}

// describeAMIs fills in each AMI's name and creation date as EC2 reports
// them, in its own Region; an AMI EC2 does not know keeps them empty.
func describeAMIs(ctx context.Context, ec2s *Regional[NameAPI], amis []AMI) ([]AMI, error) {
	out := make([]AMI, len(amis))
	for i, a := range amis {
		out[i] = AMI{Region: a.Region, ID: a.ID}
		res, err := ec2s.In(a.Region).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{a.ID}, Owners: []string{"self"}})
		if hasCode(err, "InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidAMIID.Malformed") {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("describe %s in %s: %w", a.ID, a.Region, err)
		}
		for _, im := range res.Images {
			if aws.ToString(im.ImageId) == a.ID {
				out[i].Name, out[i].Created = aws.ToString(im.Name), parseCreated(aws.ToString(im.CreationDate))
			}
		}
	}
	return out, nil
}

// parseCreated reads EC2's CreationDate (ISO 8601); it is only shown.
func parseCreated(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}
