// Package ec2tag reads EC2 resource tags as the SDK returns them
// ([]types.Tag on an image, a volume, a snapshot or an instance). The rules
// for the tags themselves (what a key or a value may be) are in
// shared/awsid; this package only looks them up.
package ec2tag

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Value is the value of the tag key among tags, or "" when none has that
// key (EC2 keys are unique on a resource, and case-sensitive).
func Value(tags []types.Tag, key string) string {
	for _, t := range tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}
