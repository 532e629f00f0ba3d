package awsid

import (
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// secretResourcePattern is a secret's full ARN resource: "secret:", the
// name (1 to 512 of ASCII letters, digits and /_+=.@-), then "-" and the six
// random characters Secrets Manager appends ("The ARN includes the name of
// the secret followed by six random characters": CreateSecret's response,
// https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/secretsmanager/aws.sdk.kotlin.services.secretsmanager.model/-create-secret-response/arn.html;
// the name's characters are CreateSecret's Name constraint).
var secretResourcePattern = regexp.MustCompile(`^secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}$`)

// ParseSecretARN checks that s is a Secrets Manager secret's full ARN,
// arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX (the
// complete ARN, with its six-character suffix: a grant on it names that
// secret and no other one created later under the same name).
func ParseSecretARN(s string) (arn.ARN, error) {
	const what = "a Secrets Manager secret's full ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX)"
	a, err := parseARN(s, "secretsmanager", what)
	if err != nil {
		return a, err
	}
	if !IsRegion(a.Region) || !IsAccountID(a.AccountID) || !secretResourcePattern.MatchString(a.Resource) {
		return arn.ARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return a, nil
}
