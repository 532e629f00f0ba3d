// Package awsid is the one home of the rules for AWS identifiers that the
// suite reads from operators and events: tags, ARNs, Regions, account IDs,
// EC2 resource IDs and CodePipeline names. Every function, and the infra,
// parses them here, so an input valid for one is valid for all.
//
// It is a leaf: it imports only the standard library and aws/arn.
package awsid

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	regionPattern    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	accountPattern   = regexp.MustCompile(`^[0-9]{12}$`)
	partitionPattern = regexp.MustCompile(`^aws(-[a-z]+)*$`)
	pipelinePattern  = regexp.MustCompile(`^[A-Za-z0-9.@_-]{1,100}$`)
)

// IsRegion reports whether s has the shape of an AWS Region name in any
// partition (us-east-1, cn-north-1, us-gov-west-1, eu-isoe-west-1).
func IsRegion(s string) bool { return regionPattern.MatchString(s) }

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool { return accountPattern.MatchString(s) }

// IsPartition reports whether s names an AWS partition (aws, aws-cn,
// aws-us-gov, aws-iso-b, …).
func IsPartition(s string) bool { return partitionPattern.MatchString(s) }

// IsPipelineName reports whether s is a valid CodePipeline pipeline name.
func IsPipelineName(s string) bool { return pipelinePattern.MatchString(s) }

// EC2 resource IDs: a prefix and 8 (older) or 17 lowercase hex digits.
var (
	instanceIDPattern = ec2ID("i")
	volumeIDPattern   = ec2ID("vol")
	snapshotIDPattern = ec2ID("snap")
	amiIDPattern      = ec2ID("ami")
)

func ec2ID(prefix string) *regexp.Regexp {
	return regexp.MustCompile(`^` + prefix + `-[0-9a-f]{8}([0-9a-f]{9})?$`)
}

// IsInstanceID reports whether s is an EC2 instance ID (i-…).
func IsInstanceID(s string) bool { return instanceIDPattern.MatchString(s) }

// IsVolumeID reports whether s is an EBS volume ID (vol-…).
func IsVolumeID(s string) bool { return volumeIDPattern.MatchString(s) }

// IsSnapshotID reports whether s is an EBS snapshot ID (snap-…).
func IsSnapshotID(s string) bool { return snapshotIDPattern.MatchString(s) }

// IsAMIID reports whether s is an AMI ID (ami-…).
func IsAMIID(s string) bool { return amiIDPattern.MatchString(s) }

// Clip makes outside input safe to quote in a message or a log: valid
// UTF-8 (invalid bytes become "?"), at most n characters, the cut marked
// with "…" (which counts toward n).
func Clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut, count := 0, 0
	for i := range s {
		if count == n-1 {
			cut = i
			break
		}
		count++
	}
	return s[:cut] + "…"
}
