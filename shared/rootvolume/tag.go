package rootvolume

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
)

// Tag is one key=value pair the suite uses to mark resources it may act on.
// It is an awsid.Tag, which holds AWS's tag rules, with the EC2 methods the
// root-volume code needs.
type Tag awsid.Tag

// Default tags; operators may configure others (SNAPSHOT_TAG, DELETE_VOLUME_TAG).
var (
	DefaultSnapshotTag = Tag{Key: "replace-snapshot", Value: "true"}
	DefaultDeleteTag   = Tag{Key: "delete-volume", Value: "true"}
	// DefaultKeepTag on a volume or snapshot keeps it from every cleanup.
	DefaultKeepTag = Tag{Key: "lambda-suite:keep", Value: "true"}
	// DefaultOptInTag marks the instances whose root volume may be replaced.
	DefaultOptInTag = Tag{Key: "root-volume-replace", Value: "enabled"}
	// ReplacedTaskTag marks the replace-root-volume tasks the suite starts,
	// as the operators' runbooks expect.
	ReplacedTaskTag = Tag{Key: "replaced-volume", Value: "true"}
)

// Keys of the descriptive tags put on the snapshots the suite creates.
const (
	TagInstanceID   = "lambda-suite:instance-id"
	TagSourceVolume = "lambda-suite:volume-id"
	TagDevice       = "lambda-suite:device"
	TagCreatedBy    = "lambda-suite:created-by"
	// ReplaceCreatedBy is TagCreatedBy's value on the suite's tasks.
	ReplaceCreatedBy = "replace-root-volume"
	// BackupSourceTag is the tag AWS Backup puts on the EBS snapshots it
	// makes, naming the resource backed up. AWS's own service-role policy
	// for Backup grants its snapshot reads on this tag
	// (aws:ResourceTag/aws:backup:source-resource, in
	// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSBackupServiceRolePolicyForBackup.html),
	// and keys starting "aws:" are reserved for AWS: no user can put one
	// on (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/Using_Tags.html#tag-restrictions).
	// Such a snapshot is deleted through its vault's lifecycle, not by
	// the EC2 API.
	BackupSourceTag = "aws:backup:source-resource"
)

// ParseTag reads "key=value" by AWS's rules for user tags (awsid.ParseTag).
func ParseTag(s string) (Tag, error) {
	t, err := awsid.ParseTag(s)
	return Tag(t), err
}

// String is the key=value form ParseTag reads.
func (t Tag) String() string { return awsid.Tag(t).String() }

// Filter is the server-side EC2 filter selecting resources with this tag.
func (t Tag) Filter() types.Filter {
	return types.Filter{Name: aws.String("tag:" + t.Key), Values: []string{t.Value}}
}

// On reports whether tags carry this tag exactly.
func (t Tag) On(tags []types.Tag) bool {
	for _, x := range tags {
		if aws.ToString(x.Key) == t.Key && aws.ToString(x.Value) == t.Value {
			return true
		}
	}
	return false
}

func (t Tag) ec2() types.Tag { return types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)} }

func filter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}
