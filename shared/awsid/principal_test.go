package awsid

import (
	"strings"
	"testing"
)

func TestParseIAMPrincipalARN(t *testing.T) {
	ok := []string{
		"arn:aws:iam::123456789012:root",
		"arn:aws:iam::123456789012:role/ops",
		"arn:aws:iam::123456789012:user/division/alice",
		"arn:aws-cn:iam::123456789012:role/r",
		"arn:aws-us-gov:iam::123456789012:user/u",
	}
	bad := []string{
		"", "everyone", "arn:", "123456789012",
		"arn:aws:iam::123456789012:group/admins", "arn:aws:iam::123456789012:role/",
		"arn:aws:iam:us-east-1:123456789012:role/r", "arn:aws:iam::1234:root",
		"arn:aws:sts::123456789012:assumed-role/r/s", "arn:azure:iam::123456789012:root",
	}
	for _, s := range ok {
		if _, err := ParseIAMPrincipalARN(s); err != nil {
			t.Errorf("ParseIAMPrincipalARN(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if _, err := ParseIAMPrincipalARN(s); err == nil {
			t.Errorf("ParseIAMPrincipalARN(%q) = nil, want an error", s)
		}
	}
}

func FuzzParseIAMPrincipalARN(f *testing.F) {
	for _, s := range []string{
		"arn:aws:iam::123456789012:root", "arn:aws:iam::444455556666:role/ops",
		"arn:aws-cn:iam::123456789012:user/u", "arn:aws-us-gov:iam::123456789012:role/service-role/r",
		"111122223333",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseIAMPrincipalARN(s)
		if err != nil {
			return
		}
		if a.Service != "iam" || !IsAccountID(a.AccountID) || a.Region != "" ||
			(a.Resource != "root" && !strings.HasPrefix(a.Resource, "user/") && !strings.HasPrefix(a.Resource, "role/")) {
			t.Errorf("ParseIAMPrincipalARN(%q) accepted %+v", s, a)
		}
	})
}
