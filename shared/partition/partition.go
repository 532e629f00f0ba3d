// Package partition is the one rule for AWS partitions in the suite: which
// partition a Region belongs to, and whether an ARN's partition exists and
// agrees with its Region. aws-cn and aws-us-gov are as valid as aws; an ARN
// of a partition that does not exist, or of one that is not its Region's,
// names nothing the suite may act on.
package partition

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The partitions, and the Region prefixes that place a Region in each.
// Every other Region is in aws.
const (
	AWS      = "aws"
	China    = "aws-cn"
	GovCloud = "aws-us-gov"
	ISO      = "aws-iso"
	ISOB     = "aws-iso-b"
	ISOE     = "aws-iso-e"
	ISOF     = "aws-iso-f"
	EUSC     = "aws-eusc"
)

var byPrefix = []struct{ prefix, partition string }{
	// Longest prefixes first: us-isob- before us-iso-.
	{"us-isob-", ISOB},
	{"us-isof-", ISOF},
	{"us-iso-", ISO},
	{"eu-isoe-", ISOE},
	{"eusc-", EUSC},
	{"us-gov-", GovCloud},
	{"cn-", China},
}

var known = []string{AWS, China, GovCloud, ISO, ISOB, ISOE, ISOF, EUSC}

// Of returns the partition of region ("cn-north-1" → "aws-cn").
func Of(region string) string {
	for _, p := range byPrefix {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return AWS
}

// Known reports whether p is a partition.
func Known(p string) bool { return slices.Contains(known, p) }

// Check returns an error unless a's partition is known and, when a names a
// Region (AWS Health's "global" is none), is that Region's.
func Check(a arn.ARN) error {
	switch {
	case !Known(a.Partition):
		return fmt.Errorf("partition %q is not an AWS partition (aws, aws-cn, aws-us-gov, …)", clip(a.Partition))
	case a.Region != "" && a.Region != "global" && Of(a.Region) != a.Partition:
		return fmt.Errorf("partition %q does not hold Region %q (that is %s)", a.Partition, clip(a.Region), Of(a.Region))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 40 {
		return strings.ToValidUTF8(s[:40], "?") + "…"
	}
	return strings.ToValidUTF8(s, "?")
}

// Named checks an AWS event's resources, when it has any: one must be the
// ARN of resource ("instance/i-…", a pipeline's name) in service, in a
// partition that holds its Region. The error lists up to three that are
// not, so the event's claim and its resources can be compared.
func Named(resources []string, service, resource string) error {
	if len(resources) == 0 {
		return nil
	}
	var problems []string
	for _, r := range resources {
		a, err := arn.Parse(r)
		switch {
		case err != nil || a.Service != service || a.Resource != resource:
			problems = append(problems, fmt.Sprintf("%q is not the ARN of %s %s", clip(r), service, clip(resource)))
		case Check(a) != nil:
			problems = append(problems, fmt.Sprintf("%q: %v", clip(r), Check(a)))
		default:
			return nil
		}
		if len(problems) == 3 {
			break
		}
	}
	return fmt.Errorf("the event's resources name no %s %s: %s", service, clip(resource), strings.Join(problems, "; "))
}
