package approval

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/ec2tag"
)

// Image Builder tags every AMI it makes with these. The stack allows
// ModifyImageAttribute only on AMIs tagged CreatedBy; the check below also
// wants Ec2ImageBuilderArn to name the approved build, so a forged message
// cannot get an unrelated AMI shared.
const (
	TagCreatedBy          = "CreatedBy"
	CreatedByImageBuilder = "EC2 Image Builder"
	TagImageBuilderARN    = "Ec2ImageBuilderArn"
)

// AMICheck is what was found about one AMI before sharing it.
type AMICheck struct {
	AMI AMI
	// Refusal says why the AMI must not be shared; "" when it can be.
	Refusal string
	// CustomerKeys are the customer managed KMS keys of its snapshots: the
	// targets need use of them to launch the AMI.
	CustomerKeys []string
	// Name and Created are the AMI's name and creation date as EC2 reports
	// them, empty when EC2 has no such AMI. Pages and audit records show
	// them rather than anything in Image Builder's message.
	Name    string
	Created time.Time
}

// assess decides whether an AMI can be shared, from what EC2 and KMS said:
// image is nil when the account has no such AMI; snapshots are its
// snapshots by ID; keys gives each snapshot key's manager, "" when KMS
// would not say.
func assess(ami AMI, imageARN string, image *types.Image, snapshots map[string]types.Snapshot, keys map[string]kmstypes.KeyManagerType) AMICheck {
	c := AMICheck{AMI: ami}
	if image != nil {
		c.Name, c.Created = aws.ToString(image.Name), parseCreated(aws.ToString(image.CreationDate))
	}
	refuse := func(format string, args ...any) AMICheck {
		c.Refusal = fmt.Sprintf("%s in %s: ", ami.ID, ami.Region) + fmt.Sprintf(format, args...)
		c.CustomerKeys = nil
		return c
	}
	switch {
	case image == nil:
		return refuse("no such AMI in this account (deregistered, or owned by another account)")
	case image.State != types.ImageStateAvailable:
		return refuse("the AMI is %s, not available", image.State)
	case ec2tag.Value(image.Tags, TagCreatedBy) != CreatedByImageBuilder:
		return refuse("the AMI has no tag %s=%s: EC2 Image Builder did not make it", TagCreatedBy, CreatedByImageBuilder)
	case ec2tag.Value(image.Tags, TagImageBuilderARN) != imageARN:
		return refuse("the AMI's tag %s is %q, not this build", TagImageBuilderARN, ec2tag.Value(image.Tags, TagImageBuilderARN))
	}
	for _, m := range image.BlockDeviceMappings {
		if m.Ebs == nil || m.Ebs.SnapshotId == nil {
			continue
		}
		id := aws.ToString(m.Ebs.SnapshotId)
		snap, ok := snapshots[id]
		switch {
		case !ok:
			return refuse("its snapshot %s is missing", id)
		case !aws.ToBool(snap.Encrypted):
			continue
		}
		key := aws.ToString(snap.KmsKeyId)
		switch keys[key] {
		case kmstypes.KeyManagerTypeAws:
			return refuse("its snapshot %s is encrypted with the AWS managed key aws/ebs (%s), which cannot be used by other accounts; "+
				"rebuild with a customer managed key in the distribution settings", id, key)
		case kmstypes.KeyManagerTypeCustomer:
			if !slices.Contains(c.CustomerKeys, key) {
				c.CustomerKeys = append(c.CustomerKeys, key)
			}
		default:
			return refuse("its snapshot %s is encrypted with KMS key %q, which could not be read: cannot tell whether other accounts can use it", id, key)
		}
	}
	return c
}

// refusals joins the reasons some AMIs cannot be shared, or "" when all can.
func refusals(checks []AMICheck) string {
	var out []string
	for _, c := range checks {
		if c.Refusal != "" {
			out = append(out, c.Refusal)
		}
	}
	return strings.Join(out, "; ")
}

// customerKeys lists every customer managed key of the checks, once.
func customerKeys(checks []AMICheck) []string {
	var out []string
	for _, c := range checks {
		for _, k := range c.CustomerKeys {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	return out
}

// checkAMI reads what assess needs about one AMI, in its Region. An error is
// one a retry may fix; what the AMI is (missing, pending, encrypted with an
// unusable key) is a refusal in the AMICheck instead.
func checkAMI(ctx context.Context, ec2c ImageAPI, kmsc KeyAPI, ami AMI, imageARN string) (AMICheck, error) {
	out, err := ec2c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{ami.ID}, Owners: []string{"self"}})
	if err != nil && !hasCode(err, "InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "InvalidAMIID.Malformed") {
		return AMICheck{}, fmt.Errorf("describe %s in %s: %w", ami.ID, ami.Region, err)
	}
	var image *types.Image
	if err == nil {
		for i := range out.Images {
			if aws.ToString(out.Images[i].ImageId) == ami.ID {
				image = &out.Images[i]
			}
		}
	}
	if image == nil {
		return assess(ami, imageARN, nil, nil, nil), nil
	}

	var ids []string
	for _, m := range image.BlockDeviceMappings {
		if m.Ebs != nil && m.Ebs.SnapshotId != nil {
			ids = append(ids, aws.ToString(m.Ebs.SnapshotId))
		}
	}
	snapshots := map[string]types.Snapshot{}
	if len(ids) > 0 {
		out, err := ec2c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: ids})
		if err != nil && !hasCode(err, "InvalidSnapshot.NotFound") {
			return AMICheck{}, fmt.Errorf("describe snapshots of %s in %s: %w", ami.ID, ami.Region, err)
		}
		if err == nil {
			for _, s := range out.Snapshots {
				snapshots[aws.ToString(s.SnapshotId)] = s
			}
		}
	}

	keys := map[string]kmstypes.KeyManagerType{}
	for _, s := range snapshots {
		key := aws.ToString(s.KmsKeyId)
		if !aws.ToBool(s.Encrypted) || key == "" {
			continue
		}
		if _, done := keys[key]; done {
			continue
		}
		out, err := kmsc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(key)})
		switch {
		case hasCode(err, "AccessDeniedException", "NotFoundException"):
			keys[key] = "" // assess refuses: fail closed
		case err != nil:
			return AMICheck{}, fmt.Errorf("describe KMS key %s in %s: %w", key, ami.Region, err)
		default:
			keys[key] = out.KeyMetadata.KeyManager
		}
	}
	return assess(ami, imageARN, image, snapshots, keys), nil
}

// share gives the targets launch permission on one AMI, in its Region.
// Adding a permission that exists is a no-op, so a retried share is safe.
func share(ctx context.Context, ec2c ImageAPI, ami AMI, t Targets) error {
	_, err := ec2c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId:          aws.String(ami.ID),
		LaunchPermission: &types.LaunchPermissionModifications{Add: launchPermissions(t)},
	})
	if err != nil {
		return fmt.Errorf("share %s in %s: %w", ami.ID, ami.Region, err)
	}
	return nil
}

// unshare takes back what share gave: the targets' launch permission on one
// AMI, in its Region.
func unshare(ctx context.Context, ec2c ImageAPI, ami AMI, t Targets) error {
	_, err := ec2c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId:          aws.String(ami.ID),
		LaunchPermission: &types.LaunchPermissionModifications{Remove: launchPermissions(t)},
	})
	if err != nil {
		return fmt.Errorf("unshare %s in %s: %w", ami.ID, ami.Region, err)
	}
	return nil
}

func launchPermissions(t Targets) []types.LaunchPermission {
	var perms []types.LaunchPermission
	for _, a := range t.Accounts {
		perms = append(perms, types.LaunchPermission{UserId: aws.String(a)})
	}
	for _, o := range t.Organizations {
		perms = append(perms, types.LaunchPermission{OrganizationArn: aws.String(o)})
	}
	for _, ou := range t.OUs {
		perms = append(perms, types.LaunchPermission{OrganizationalUnitArn: aws.String(ou)})
	}
	return perms
}

func hasCode(err error, codes ...string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && slices.Contains(codes, apiErr.ErrorCode())
}
