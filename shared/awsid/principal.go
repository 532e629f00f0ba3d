package awsid

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// ParseIAMPrincipalARN checks that s is the ARN of an IAM principal a
// resource policy may name: arn:PARTITION:iam::ACCOUNT:root, or
// :user/[PATH/]NAME or :role/[PATH/]NAME. (Assumed-role sessions are STS
// ARNs, which resource policies name through the role.)
func ParseIAMPrincipalARN(s string) (arn.ARN, error) {
	const what = "an IAM principal ARN (arn:aws:iam::ACCOUNT:root, …:user/NAME or …:role/NAME)"
	a, err := parseARN(s, "iam", what)
	if err != nil {
		return a, err
	}
	ok := a.Resource == "root"
	for _, kind := range []string{"user/", "role/"} {
		if name, cut := strings.CutPrefix(a.Resource, kind); cut {
			ok = name != "" && !strings.HasSuffix(name, "/")
		}
	}
	if a.Region != "" || !IsAccountID(a.AccountID) || !ok {
		return arn.ARN{}, fmt.Errorf("%q is not %s", Clip(s, 120), what)
	}
	return a, nil
}
