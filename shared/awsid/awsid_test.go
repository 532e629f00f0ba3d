package awsid

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestIdentifierShapes(t *testing.T) {
	tests := []struct {
		name string
		is   func(string) bool
		ok   []string
		bad  []string
	}{
		{"region", IsRegion,
			[]string{"us-east-1", "eu-central-2", "ap-southeast-5", "cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-iso-east-1", "eu-isoe-west-1", "eusc-de-east-1"},
			[]string{"", "global", "US-EAST-1", "us-east", "useast1", "us-east-1a", "us-east-100", "aws-global"}},
		{"account", IsAccountID,
			[]string{"123456789012", "000000000000"},
			[]string{"", "12345678901", "1234567890123", "12345678901a", " 123456789012"}},
		{"partition", IsPartition,
			[]string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-eusc"},
			// Only the partitions that exist: the old pattern took aws-mars.
			[]string{"", "AWS", "azure", "aws-", "aws_cn", "aws-mars"}},
		{"pipeline", IsPipelineName,
			[]string{"deploy", "my.pipe@line_1-2", strings.Repeat("p", 100)},
			[]string{"", "has space", "slash/name", strings.Repeat("p", 101)}},
		{"organization", IsOrganizationID,
			[]string{"o-a1b2c3d4e5", "o-" + strings.Repeat("a", 32)},
			[]string{"", "o-short", "O-a1b2c3d4e5", "r-a1b2"}},
		{"ou", IsOUID,
			[]string{"ou-ab12-cd34ef56", "ou-a1b2c3d4-e5f6g7h8"},
			[]string{"", "ou-ab1-cd34ef56", "ou-ab12-cd34", "r-ab12"}},
		{"table", func(s string) bool { _, err := ParseTableName(s); return err == nil },
			[]string{"abc", "decisions.v2_prod-1", "A" + strings.Repeat("b", 254)},
			[]string{"", "ab", "has space", "slash/name", "colon:name", strings.Repeat("t", 256)}},
		{"root", IsRootID,
			[]string{"r-ab12", "r-a1b2c3d4"},
			[]string{"", "r-ab1", "ou-ab12-cd34ef56"}},
		{"instance", IsInstanceID,
			[]string{"i-0123abcd", "i-0123456789abcdef0"},
			[]string{"", "i-0123ABCD", "i-0123abc", "i-0123456789abcdef", "vol-0123abcd", "i-0123456789abcdef01"}},
		{"volume", IsVolumeID,
			[]string{"vol-0123abcd", "vol-0123456789abcdef0"},
			[]string{"", "vol-xyz", "i-0123abcd"}},
		{"snapshot", IsSnapshotID,
			[]string{"snap-0123abcd", "snap-0123456789abcdef0"},
			[]string{"", "snap-0123", "ami-0123abcd"}},
		{"ami", IsAMIID,
			[]string{"ami-0123abcd", "ami-0123456789abcdef0"},
			[]string{"", "ami-", "AMI-0123abcd", "snap-0123abcd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, s := range tt.ok {
				if !tt.is(s) {
					t.Errorf("%q refused, want accepted", s)
				}
			}
			for _, s := range tt.bad {
				if tt.is(s) {
					t.Errorf("%q accepted, want refused", s)
				}
			}
		})
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"short stays", "abc", 5, "abc"},
		{"exact stays", "abcde", 5, "abcde"},
		{"cut and marked", "abcdef", 5, "abcd…"},
		{"counts characters, not bytes", "ééééééé", 4, "ééé…"},
		{"invalid UTF-8 replaced", "a\xffb", 10, "a?b"},
		{"zero", "abc", 0, ""},
	}
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{{"abc", 5, "abc"}, {"abcdef", 3, "abc"}, {"ééé", 4, "éé"}, {"ééé", 3, "é"}, {"abc", 0, ""}} {
		if got := Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Clip(tt.in, tt.n)
			if got != tt.want {
				t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
			}
		})
	}
}

func TestParseTag(t *testing.T) {
	tests := []struct {
		in      string
		want    Tag
		wantErr string
	}{
		{in: "replace-snapshot=true", want: Tag{"replace-snapshot", "true"}},
		{in: " lambda-suite:keep = true ", want: Tag{"lambda-suite:keep", "true"}},
		{in: "empty-value=", want: Tag{"empty-value", ""}},
		{in: "k=a=b", want: Tag{"k", "a=b"}},
		{in: "no-equals", wantErr: "not key=value"},
		{in: "=v", wantErr: "empty key"},
		// The edge the two old copies disagreed on: AWS refuses user tags
		// with the aws: prefix, in any case.
		{in: "aws:cloudformation:stack-name=x", wantErr: "aws: prefix"},
		{in: "AWS:x=y", wantErr: "aws: prefix"},
		{in: strings.Repeat("k", 129) + "=v", wantErr: "longer than AWS allows"},
		{in: "k=" + strings.Repeat("v", 257), wantErr: "longer than AWS allows"},
		// Limits are in characters: 128 two-byte characters fit.
		{in: strings.Repeat("é", 128) + "=v", want: Tag{strings.Repeat("é", 128), "v"}},
		{in: "k\xff=v", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(Clip(tt.in, 30), func(t *testing.T) {
			got, err := ParseTag(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseTag(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseTag(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if again, err := ParseTag(got.String()); err != nil || again != got {
				t.Errorf("ParseTag(String()) = %v, %v; want %v", again, err, got)
			}
		})
	}
}

func TestParseSNSTopicARN(t *testing.T) {
	ok := []string{
		"arn:aws:sns:us-east-1:123456789012:disk-alarms",
		"arn:aws:sns:eu-west-1:123456789012:Orders_2024.fifo",
		"arn:aws-cn:sns:cn-north-1:123456789012:alarms",
		"arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms",
	}
	bad := map[string]string{
		"":    "not an ARN",
		"sns": "not an ARN",
		"arn:aws:sqs:us-east-1:123456789012:queue":           `service "sqs"`,
		"arn:azure:sns:us-east-1:123456789012:t":             "not an AWS partition",
		"arn:aws-mars:sns:us-east-1:123456789012:t":          "not an AWS partition",
		"arn:aws-cn:sns:us-east-1:123456789012:t":            "does not hold Region",
		"arn:aws:sns::123456789012:t":                        "not an SNS topic ARN",
		"arn:aws:sns:us-east-1:12345678901x:t":               "not an SNS topic ARN",
		"arn:aws:sns:us-east-1:123456789012:t:subscription1": "not an SNS topic ARN",
		"arn:aws:sns:us-east-1:123456789012:bad name":        "not an SNS topic ARN",
	}
	for _, s := range ok {
		if _, err := ParseSNSTopicARN(s); err != nil {
			t.Errorf("ParseSNSTopicARN(%q) = %v, want nil", s, err)
		}
	}
	for s, want := range bad {
		if _, err := ParseSNSTopicARN(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSNSTopicARN(%q) = %v, want error containing %q", s, err, want)
		}
	}
}

func TestParseRoleARN(t *testing.T) {
	ok := []string{
		"arn:aws:iam::123456789012:role/scheduler",
		"arn:aws:iam::123456789012:role/service-role/my-role",
		"arn:aws-cn:iam::123456789012:role/r",
		"arn:aws-us-gov:iam::123456789012:role/r",
	}
	bad := []string{
		"", "arn:aws:iam::123456789012:user/bob", "arn:aws:iam:us-east-1:123456789012:role/r",
		"arn:aws:iam::123456789012:role/", "arn:aws:sts::123456789012:role/r", "arn:aws:iam::1234:role/r",
	}
	for _, s := range ok {
		if _, err := ParseRoleARN(s); err != nil {
			t.Errorf("ParseRoleARN(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		if _, err := ParseRoleARN(s); err == nil {
			t.Errorf("ParseRoleARN(%q) = nil, want an error", s)
		}
	}
}

func TestParseImageBuilderImageARN(t *testing.T) {
	got, err := ParseImageBuilderImageARN("arn:aws:imagebuilder:us-east-1:123456789012:image/golden-al2023/1.0.4/2")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "golden-al2023" || got.Version != "1.0.4" || got.Build != "2" || got.AccountID != "123456789012" || got.Region != "us-east-1" {
		t.Errorf("ParseImageBuilderImageARN = %+v", got)
	}
	for _, s := range []string{
		"arn:aws-cn:imagebuilder:cn-north-1:123456789012:image/x/1.0.0/1",
		"arn:aws-us-gov:imagebuilder:us-gov-west-1:123456789012:image/x/1.0.0",
	} {
		if _, err := ParseImageBuilderImageARN(s); err != nil {
			t.Errorf("ParseImageBuilderImageARN(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range []string{
		"", "arn:aws:imagebuilder:us-east-1:123456789012:image-recipe/x/1.0.0",
		"arn:aws:imagebuilder:us-east-1:123456789012:image/x", "arn:aws:imagebuilder:us-east-1:123456789012:image/x//1",
		"arn:aws:ec2:us-east-1:123456789012:image/ami-0123abcd", "arn:aws:imagebuilder:us-east-1:123456789012:image/x/1.0.0/1/2",
	} {
		if _, err := ParseImageBuilderImageARN(s); err == nil {
			t.Errorf("ParseImageBuilderImageARN(%q) = nil, want an error", s)
		}
	}
}

func TestParseOrganizationARNs(t *testing.T) {
	orgs := map[string]bool{
		"arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5":          true,
		"arn:aws-cn:organizations::123456789012:organization/o-a1b2c3d4e5":       true,
		"arn:aws-us-gov:organizations::123456789012:organization/o-a1b2c3d4e5":   true,
		"arn:aws:organizations:us-east-1:123456789012:organization/o-a1b2c3d4e5": false,
		"arn:aws:organizations::123456789012:organization/o-short":               false,
		"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56":   false,
		"arn:aws-mars:organizations::123456789012:organization/o-a1b2c3d4e5":     false,
	}
	for s, ok := range orgs {
		if _, err := ParseOrganizationARN(s); (err == nil) != ok {
			t.Errorf("ParseOrganizationARN(%q) = %v, want ok %t", s, err, ok)
		}
	}
	ous := map[string]bool{
		"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56":        true,
		"arn:aws-cn:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56":     true,
		"arn:aws-us-gov:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56": true,
		"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5":                         false,
		"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/r-ab12":                  false,
		"arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5":               false,
		"arn:aws:organizations::1234:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56":                false,
	}
	for s, ok := range ous {
		if _, err := ParseOUARN(s); (err == nil) != ok {
			t.Errorf("ParseOUARN(%q) = %v, want ok %t", s, err, ok)
		}
	}
}

// Each parser is fuzzed: none panics, and whatever one accepts is what
// it claims to accept.
func FuzzParseTag(f *testing.F) {
	for _, s := range []string{"replace-snapshot=true", "delete-volume=true", "lambda-suite:keep=true", "root-volume-replace=enabled", "aws:x=y", "=", "k="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tag, err := ParseTag(s)
		if err != nil {
			return
		}
		if tag.Key == "" || strings.HasPrefix(strings.ToLower(tag.Key), "aws:") || utf8.RuneCountInString(tag.Key) > MaxTagKey || utf8.RuneCountInString(tag.Value) > MaxTagValue {
			t.Errorf("ParseTag(%q) accepted %+v", s, tag)
		}
	})
}

func FuzzParseARNs(f *testing.F) {
	for _, s := range []string{
		"arn:aws:sns:us-east-1:123456789012:disk-alarms",
		"arn:aws-cn:sns:cn-north-1:123456789012:alarms",
		"arn:aws-us-gov:iam::123456789012:role/service-role/r",
		"arn:aws:imagebuilder:us-east-1:123456789012:image/golden/1.0.0/1",
		"arn:aws:ec2:us-east-1:123456789012:volume/vol-0123456789abcdef0",
		"arn:aws-us-gov:sns:us-gov-west-1:123456789012:alarms.fifo",
		"arn:aws-cn:imagebuilder:cn-north-1:123456789012:image/golden/1.0.0/1",
		"arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5",
		"arn:aws-cn:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cd34ef56",
		"arn:aws-us-gov:organizations::123456789012:organization/o-a1b2c3d4e5",
	} {
		f.Add(s)
	}
	addEventARNs(f)
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := ParseSNSTopicARN(s); err == nil && (a.Service != "sns" || !IsAccountID(a.AccountID) || !IsRegion(a.Region)) {
			t.Errorf("ParseSNSTopicARN(%q) accepted %+v", s, a)
		}
		if a, err := ParseRoleARN(s); err == nil && (a.Service != "iam" || !strings.HasPrefix(a.Resource, "role/")) {
			t.Errorf("ParseRoleARN(%q) accepted %+v", s, a)
		}
		if a, err := ParseImageBuilderImageARN(s); err == nil && (a.Service != "imagebuilder" || a.Name == "" || a.Version == "") {
			t.Errorf("ParseImageBuilderImageARN(%q) accepted %+v", s, a)
		}
		if a, err := ParseOrganizationARN(s); err == nil && (a.Service != "organizations" || CheckPartition(a) != nil) {
			t.Errorf("ParseOrganizationARN(%q) accepted %+v", s, a)
		}
		if a, err := ParseOUARN(s); err == nil && (a.Service != "organizations" || !strings.HasPrefix(a.Resource, "ou/")) {
			t.Errorf("ParseOUARN(%q) accepted %+v", s, a)
		}
		if c := Clip(s, 40); !utf8.ValidString(c) || utf8.RuneCountInString(c) > 40 {
			t.Errorf("Clip(%q, 40) = %q", s, c)
		}
	})
}

func TestParseKMSKeyARN(t *testing.T) {
	for s, ok := range map[string]bool{
		"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab":     true,
		"arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab":     true,
		"arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab": true,
		"arn:aws:kms:us-east-1:123456789012:alias/records":                                false,
		"1234abcd-12ab-34cd-56ef-1234567890ab":                                            false,
		"arn:aws:sns:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab":     false,
		"arn:aws:kms:us-east-1:12345:key/1234abcd-12ab-34cd-56ef-1234567890ab":            false,
	} {
		if _, err := ParseKMSKeyARN(s); (err == nil) != ok {
			t.Errorf("ParseKMSKeyARN(%q) = %v, want ok %v", s, err, ok)
		}
	}
}

func TestParseSecretARN(t *testing.T) {
	for s, ok := range map[string]bool{
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc/client-AbC123":       true,
		"arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:client-secret-x1Y2z3": true,
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:oidc/client":              false, // partial: no suffix
		"arn:aws:secretsmanager:us-east-1:123456789012:secret:-AbC123":                  false, // no name
		"arn:aws:secretsmanager:us-east-1:12345:secret:client-AbC123":                   false,
		"arn:aws:kms:us-east-1:123456789012:secret:client-AbC123":                       false,
		"arn:aws:secretsmanager:us-east-1:123456789012:client-AbC123":                   false,
		"oidc/client": false,
	} {
		if _, err := ParseSecretARN(s); (err == nil) != ok {
			t.Errorf("ParseSecretARN(%q) = %v, want ok %v", s, err, ok)
		}
	}
}
