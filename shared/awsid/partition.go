package awsid

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The partitions, and the Region prefixes that place a Region in each.
// Every other Region is in aws. aws-cn and aws-us-gov are as valid as aws;
// an ARN of a partition that does not exist, or of one that is not its
// Region's, names nothing the suite may act on.
const (
	PartitionAWS      = "aws"
	PartitionChina    = "aws-cn"
	PartitionGovCloud = "aws-us-gov"
	PartitionISO      = "aws-iso"
	PartitionISOB     = "aws-iso-b"
	PartitionISOE     = "aws-iso-e"
	PartitionISOF     = "aws-iso-f"
	PartitionEUSC     = "aws-eusc"
)

var partitionByPrefix = []struct{ prefix, partition string }{
	// Longest prefixes first: us-isob- before us-iso-.
	{"us-isob-", PartitionISOB},
	{"us-isof-", PartitionISOF},
	{"us-iso-", PartitionISO},
	{"eu-isoe-", PartitionISOE},
	{"eusc-", PartitionEUSC},
	{"us-gov-", PartitionGovCloud},
	{"cn-", PartitionChina},
}

var partitions = []string{PartitionAWS, PartitionChina, PartitionGovCloud, PartitionISO, PartitionISOB, PartitionISOE, PartitionISOF, PartitionEUSC}

// PartitionOf returns the partition of region ("cn-north-1" → "aws-cn").
func PartitionOf(region string) string {
	for _, p := range partitionByPrefix {
		if strings.HasPrefix(region, p.prefix) {
			return p.partition
		}
	}
	return PartitionAWS
}

// IsPartition reports whether s names an AWS partition (aws, aws-cn,
// aws-us-gov, aws-iso-b, …): one of the partitions that exist, not any
// string of their shape.
func IsPartition(s string) bool { return slices.Contains(partitions, s) }

// CheckPartition returns an error unless a's partition exists and, when a
// names a Region (AWS Health's "global" is none), is that Region's.
func CheckPartition(a arn.ARN) error {
	switch {
	case !IsPartition(a.Partition):
		return fmt.Errorf("partition %q is not an AWS partition (aws, aws-cn, aws-us-gov, …)", Clip(a.Partition, 40))
	case a.Region != "" && a.Region != "global" && PartitionOf(a.Region) != a.Partition:
		return fmt.Errorf("partition %q does not hold Region %q (that is %s)", a.Partition, Clip(a.Region, 40), PartitionOf(a.Region))
	}
	return nil
}

// CheckResources checks an AWS event's resources, when it has any: one must
// be the ARN of resource ("instance/i-…", a pipeline's name) in service, in
// a partition that holds its Region. The error lists up to three that are
// not, so the event's claim and its resources can be compared.
func CheckResources(resources []string, service, resource string) error {
	if len(resources) == 0 {
		return nil
	}
	var problems []string
	for _, r := range resources {
		a, err := arn.Parse(r)
		switch {
		case err != nil || a.Service != service || a.Resource != resource:
			problems = append(problems, fmt.Sprintf("%q is not the ARN of %s %s", Clip(r, 40), service, Clip(resource, 40)))
		case CheckPartition(a) != nil:
			problems = append(problems, fmt.Sprintf("%q: %v", Clip(r, 40), CheckPartition(a)))
		default:
			return nil
		}
		if len(problems) == 3 {
			break
		}
	}
	return fmt.Errorf("the event's resources name no %s %s: %s", service, Clip(resource, 40), strings.Join(problems, "; "))
}

// The AWS Management Console's hosts: in aws each Region has its own
// (us-east-1.console.aws.amazon.com), the China and GovCloud partitions one
// each. The infra builds the same choice into the stacks' outputs.
const (
	ConsoleHostChina       = "console.amazonaws.cn"
	ConsoleHostGovCloud    = "console.amazonaws-us-gov.com"
	ConsoleHostAfterRegion = ".console.aws.amazon.com"
)

// ConsoleHost returns the host of the AWS Management Console for region,
// or "" in a partition whose console the suite does not know (the
// isolated partitions), where a message then carries no console link.
func ConsoleHost(region string) string {
	switch PartitionOf(region) {
	case PartitionAWS:
		return region + ConsoleHostAfterRegion
	case PartitionChina:
		return ConsoleHostChina
	case PartitionGovCloud:
		return ConsoleHostGovCloud
	}
	return ""
}
