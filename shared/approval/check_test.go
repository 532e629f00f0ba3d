package approval

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

const (
	testBuild = "arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1"
	awsKey    = "arn:aws:kms:us-east-1:123456789012:key/aaaaaaaa-0000-0000-0000-000000000000"
	custKey   = "arn:aws:kms:us-east-1:123456789012:key/cccccccc-0000-0000-0000-000000000000"
	hiddenKey = "arn:aws:kms:us-east-1:999999999999:key/dddddddd-0000-0000-0000-000000000000"
	testAMI   = "ami-0123456789abcdef0"
	rootSnap  = "snap-0000000000000000a"
	dataSnap  = "snap-0000000000000000b"
)

func goldenImage(snaps ...string) types.Image {
	im := types.Image{
		ImageId: aws.String(testAMI), State: types.ImageStateAvailable,
		Tags: []types.Tag{
			{Key: aws.String(TagCreatedBy), Value: aws.String(CreatedByImageBuilder)},
			{Key: aws.String(TagImageBuilderARN), Value: aws.String(testBuild)},
		},
	}
	for _, s := range snaps {
		im.BlockDeviceMappings = append(im.BlockDeviceMappings, types.BlockDeviceMapping{Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(s)}})
	}
	// An instance-store device has no snapshot: nothing to check.
	im.BlockDeviceMappings = append(im.BlockDeviceMappings, types.BlockDeviceMapping{DeviceName: aws.String("/dev/sdb"), VirtualName: aws.String("ephemeral0")})
	return im
}

func snapshot(id string, key string) types.Snapshot {
	s := types.Snapshot{SnapshotId: aws.String(id), Encrypted: aws.Bool(key != "")}
	if key != "" {
		s.KmsKeyId = aws.String(key)
	}
	return s
}

func TestAssess(t *testing.T) {
	ami := AMI{Region: "us-east-1", ID: testAMI}
	keys := map[string]kmstypes.KeyManagerType{awsKey: kmstypes.KeyManagerTypeAws, custKey: kmstypes.KeyManagerTypeCustomer, hiddenKey: ""}
	snaps := func(ss ...types.Snapshot) map[string]types.Snapshot {
		m := map[string]types.Snapshot{}
		for _, s := range ss {
			m[aws.ToString(s.SnapshotId)] = s
		}
		return m
	}
	with := func(f func(*types.Image)) *types.Image { im := goldenImage(rootSnap); f(&im); return &im }
	tests := []struct {
		name    string
		image   *types.Image
		snaps   map[string]types.Snapshot
		refusal string // a part of it; "" when it can be shared
		keys    []string
	}{
		{name: "unencrypted", image: with(func(*types.Image) {}), snaps: snaps(snapshot(rootSnap, ""))},
		{name: "customer managed key, named once", image: &[]types.Image{goldenImage(rootSnap, dataSnap)}[0],
			snaps: snaps(snapshot(rootSnap, custKey), snapshot(dataSnap, custKey)), keys: []string{custKey}},
		{name: "AWS managed key", image: &[]types.Image{goldenImage(rootSnap, dataSnap)}[0],
			snaps: snaps(snapshot(rootSnap, custKey), snapshot(dataSnap, awsKey)), refusal: "AWS managed key aws/ebs"},
		{name: "key that could not be read", image: with(func(*types.Image) {}), snaps: snaps(snapshot(rootSnap, hiddenKey)), refusal: "could not be read"},
		{name: "encrypted without a key ID", image: with(func(*types.Image) {}),
			snaps: snaps(types.Snapshot{SnapshotId: aws.String(rootSnap), Encrypted: aws.Bool(true)}), refusal: "could not be read"},
		{name: "missing", image: nil, refusal: "no such AMI"},
		{name: "pending", image: with(func(im *types.Image) { im.State = types.ImageStatePending }), snaps: snaps(snapshot(rootSnap, "")), refusal: "is pending, not available"},
		{name: "snapshot gone", image: with(func(*types.Image) {}), snaps: snaps(), refusal: "snapshot " + rootSnap + " is missing"},
		{name: "not made by Image Builder", image: with(func(im *types.Image) { im.Tags = im.Tags[1:] }), snaps: snaps(snapshot(rootSnap, "")), refusal: "EC2 Image Builder did not make it"},
		{name: "made for another build", image: with(func(im *types.Image) { im.Tags[1].Value = aws.String(testBuild + "0") }), snaps: snaps(snapshot(rootSnap, "")), refusal: "not this build"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assess(ami, testBuild, tt.image, tt.snaps, keys)
			if tt.refusal == "" && got.Refusal != "" || !strings.Contains(got.Refusal, tt.refusal) {
				t.Errorf("Refusal = %q, want one saying %q", got.Refusal, tt.refusal)
			}
			if tt.refusal != "" && !strings.HasPrefix(got.Refusal, testAMI+" in us-east-1: ") {
				t.Errorf("Refusal %q does not name the AMI and Region", got.Refusal)
			}
			if diff := cmp.Diff(tt.keys, got.CustomerKeys); diff != "" {
				t.Errorf("CustomerKeys (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeEC2 and fakeKMS answer checkAMI from fixed data.
type fakeEC2 struct {
	images    []types.Image
	snapshots []types.Snapshot
	err       error
}

func (f *fakeEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &ec2.DescribeImagesOutput{Images: f.images}, nil
}

func (f *fakeEC2) DescribeSnapshots(_ context.Context, in *ec2.DescribeSnapshotsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error) {
	return &ec2.DescribeSnapshotsOutput{Snapshots: f.snapshots}, nil
}

func (f *fakeEC2) ModifyImageAttribute(context.Context, *ec2.ModifyImageAttributeInput, ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error) {
	return nil, errors.New("not in this test")
}

type fakeKMS func(key string) (kmstypes.KeyManagerType, error)

func (f fakeKMS) DescribeKey(_ context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	m, err := f(aws.ToString(in.KeyId))
	if err != nil {
		return nil, err
	}
	return &kms.DescribeKeyOutput{KeyMetadata: &kmstypes.KeyMetadata{KeyId: in.KeyId, KeyManager: m}}, nil
}

// TestCheckAMIReadsKeys covers what moto cannot: snapshots encrypted with
// the AWS managed key, a customer managed key, and a key KMS won't describe.
func TestCheckAMIReadsKeys(t *testing.T) {
	managers := fakeKMS(func(key string) (kmstypes.KeyManagerType, error) {
		switch key {
		case awsKey:
			return kmstypes.KeyManagerTypeAws, nil
		case custKey:
			return kmstypes.KeyManagerTypeCustomer, nil
		case hiddenKey:
			return "", &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "not allowed"}
		}
		return "", &smithy.GenericAPIError{Code: "KMSInternalException", Message: "try later"}
	})
	ami := AMI{Region: "us-east-1", ID: testAMI}
	tests := []struct {
		name    string
		key     string
		refusal string
		keys    []string
		wantErr bool
	}{
		{name: "customer managed", key: custKey, keys: []string{custKey}},
		{name: "AWS managed", key: awsKey, refusal: "AWS managed key"},
		{name: "access denied: fail closed", key: hiddenKey, refusal: "could not be read"},
		{name: "KMS unavailable: retry", key: "arn:aws:kms:us-east-1:123456789012:key/eeee", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ec2c := &fakeEC2{images: []types.Image{goldenImage(rootSnap)}, snapshots: []types.Snapshot{snapshot(rootSnap, tt.key)}}
			got, err := checkAMI(context.Background(), ec2c, managers, ami, testBuild)
			if tt.wantErr {
				if err == nil {
					t.Errorf("checkAMI = %+v, nil error, want an error to retry on", got)
				}
				return
			}
			if err != nil || (tt.refusal == "") != (got.Refusal == "") || !strings.Contains(got.Refusal, tt.refusal) {
				t.Errorf("checkAMI = %+v, %v, want refusal %q", got, err, tt.refusal)
			}
			if diff := cmp.Diff(tt.keys, got.CustomerKeys); diff != "" {
				t.Errorf("CustomerKeys (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("AMI not found is a refusal", func(t *testing.T) {
		ec2c := &fakeEC2{err: &smithy.GenericAPIError{Code: "InvalidAMIID.NotFound", Message: "gone"}}
		got, err := checkAMI(context.Background(), ec2c, managers, ami, testBuild)
		if err != nil || !strings.Contains(got.Refusal, "no such AMI") {
			t.Errorf("checkAMI = %+v, %v, want a refusal", got, err)
		}
	})
	t.Run("EC2 throttling is an error", func(t *testing.T) {
		ec2c := &fakeEC2{err: &smithy.GenericAPIError{Code: "RequestLimitExceeded", Message: "slow down"}}
		if got, err := checkAMI(context.Background(), ec2c, managers, ami, testBuild); err == nil {
			t.Errorf("checkAMI = %+v, nil error, want an error to retry on", got)
		}
	})
}
