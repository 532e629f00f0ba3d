// Package awsid is the one home of the rules for AWS identifiers that the
// suite reads from operators and events: tags, ARNs, Regions, account IDs,
// EC2 resource IDs and CodePipeline names. Every function, and the infra,
// parses them here, so an input valid for one is valid for all. DynamoDB
// table names live here too: two packages read them from the environment.
//
// It is a leaf: it imports only the standard library and aws/arn.
package awsid

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	// Two letters, or four for the European Sovereign Cloud (eusc-de-east-1).
	regionPattern   = regexp.MustCompile(`^[a-z]{2}([a-z]{2})?(-[a-z]+)+-[0-9]{1,2}$`)
	accountPattern  = regexp.MustCompile(`^[0-9]{12}$`)
	pipelinePattern = regexp.MustCompile(`^[A-Za-z0-9.@_-]{1,100}$`)
	// AWS Organizations: o-…, ou-<root>-<ou>, r-….
	organizationIDPattern = regexp.MustCompile(`^o-[a-z0-9]{10,32}$`)
	ouIDPattern           = regexp.MustCompile(`^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$`)
	rootIDPattern         = regexp.MustCompile(`^r-[0-9a-z]{4,32}$`)
	tableNamePattern      = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)
)

// IsRegion reports whether s has the shape of an AWS Region name in any
// partition (us-east-1, cn-north-1, us-gov-west-1, eu-isoe-west-1).
func IsRegion(s string) bool { return regionPattern.MatchString(s) }

// IsAccountID reports whether s is a 12-digit AWS account ID.
func IsAccountID(s string) bool { return accountPattern.MatchString(s) }

// IsPipelineName reports whether s is a valid CodePipeline pipeline name;
// a stage's name follows the same rule.
func IsPipelineName(s string) bool { return pipelinePattern.MatchString(s) }

// IsOrganizationID reports whether s is an AWS Organizations ID (o-…).
func IsOrganizationID(s string) bool { return organizationIDPattern.MatchString(s) }

// IsOUID reports whether s is an organizational unit ID (ou-…-…).
func IsOUID(s string) bool { return ouIDPattern.MatchString(s) }

// IsRootID reports whether s is an organization's root ID (r-…).
func IsRootID(s string) bool { return rootIDPattern.MatchString(s) }

// ParseTableName checks a DynamoDB table name (REPLACEMENTS_TABLE,
// DECISIONS_TABLE) and returns it unchanged.
func ParseTableName(s string) (string, error) {
	if !tableNamePattern.MatchString(s) {
		return "", fmt.Errorf("%q is not a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ . -)", s)
	}
	return s, nil
}

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

// Truncate cuts s to at most n bytes without splitting a character, and
// without a mark: for a value that must fit an AWS length limit where the
// cut is shown another way (a CloudWatch alarm name keeps a hash of what
// was cut). AWS documents such limits in characters (255 for an alarm
// name); n bytes are at most n characters, so a value cut to n bytes fits
// however the service counts, and a name once made stays the same.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
