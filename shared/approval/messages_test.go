package approval

import (
	"strings"
	"testing"
	"time"
)

func TestSubjectLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Approve sharing of AMI build web 1.0.0", "Approve sharing of AMI build web 1.0.0"},
		{"Approve build\nBcc: someone", "Approve build?Bcc: someone"},
		{"Approve büild", "Approve b?ild"},
		{strings.Repeat("x", 150), strings.Repeat("x", 97) + "..."},
	}
	for _, tt := range tests {
		if got := subjectLine(tt.in); got != tt.want {
			t.Errorf("subjectLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHumanDuration(t *testing.T) {
	tests := map[time.Duration]string{
		72 * time.Hour: "3 days", 24 * time.Hour: "1 day", 90 * time.Minute: "1h30m",
		2 * time.Hour: "2h", 30 * time.Minute: "30m", 36 * time.Hour: "36h",
	}
	for d, want := range tests {
		if got := humanDuration(d); got != want {
			t.Errorf("humanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestTargetNoticeNamesCustomerKeys(t *testing.T) {
	req := Request{
		Ref: "abc", ImageARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1", ImageName: "app", Version: "1.0.0",
		AMIs:     []AMI{{Region: "eu-west-1", ID: "ami-0123456789abcdef0", Name: "app 1"}},
		Targets:  Targets{Accounts: []string{"111111111111"}, OUs: []string{"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456"}},
		KeyNotes: []string{"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
	}
	subject, body := TargetNotice(req)
	if subject != "AMIs shared with you: app 1.0.0" {
		t.Errorf("subject = %q", subject)
	}
	for _, want := range []string{"ami-0123456789abcdef0  eu-west-1  app 1", "accounts 111111111111", "organizational units arn:aws:organizations::123456789012:ou/",
		"needs use of these keys", "key/1234abcd-12ab-34cd-56ef-1234567890ab"} {
		if !strings.Contains(body, want) {
			t.Errorf("notice does not say %q:\n%s", want, body)
		}
	}
}
