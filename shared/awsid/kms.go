package awsid

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// kmsKeyIDPattern is a KMS key ID: a UUID, or mrk- and 32 hex digits for a
// multi-Region key (KMS Developer Guide, "Key identifiers (KeyId)").
var kmsKeyIDPattern = regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`)

// ParseKMSKeyARN checks that s is a KMS key ARN,
// arn:PARTITION:kms:REGION:ACCOUNT:key/KEY-ID (not an alias: a key policy
// is the key's, and an alias can be pointed at another key).
func ParseKMSKeyARN(s string) (arn.ARN, error) {
	const what = "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID)"
	a, err := parseARN(s, "kms", what)
	if err != nil {
		return a, err
	}
	id, ok := strings.CutPrefix(a.Resource, "key/")
	if !IsRegion(a.Region) || !IsAccountID(a.AccountID) || !ok || !kmsKeyIDPattern.MatchString(id) {
		return arn.ARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return a, nil
}
