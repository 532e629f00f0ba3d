package approval

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRoughly(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{72 * time.Hour, "3 days"},
		{72*time.Hour - time.Minute, "3 days"},
		{60 * time.Hour, "3 days"},
		{48 * time.Hour, "2 days"},
		{48*time.Hour - time.Minute, "48 hours"},
		{5*time.Hour + 40*time.Minute, "6 hours"},
		{2 * time.Hour, "2 hours"},
		{90 * time.Minute, "90 minutes"},
		{2 * time.Minute, "2 minutes"},
		{90 * time.Second, "2 minutes"},
		{time.Minute, "a minute or less"},
		{0, "a minute or less"},
	}
	for _, tt := range tests {
		if got := Roughly(tt.d); got != tt.want {
			t.Errorf("Roughly(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestEmailsSayDurationsAsThePageDoes: the emails say how long is left
// with the words the approval page uses (Roughly), so an email does not say
// "71h59m" where the page says "3 days".
func TestEmailsSayDurationsAsThePageDoes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	left := 72*time.Hour - time.Minute
	req := Request{Ref: "abc", ImageARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1", ImageName: "app", Version: "1.0.0",
		CreatedAt: now, LinkExpiresAt: now.Add(left)}
	st := Step{ExecutionID: "step-a1b2c3d4-5678-90ab-cdef-0123456789ab", Name: "ApproveImage", TimesOutAt: now.Add(left)}

	_, share := approvalEmail(req, Image{}, "https://example.com/approve?token=x")
	_, step := stepApprovalEmail(req, st, "https://example.com/approve?token=x", now)
	for name, body := range map[string]string{"approvalEmail": share, "stepApprovalEmail": step} {
		if !strings.Contains(body, "(in 3 days)") {
			t.Errorf("%s with %s left does not say \"(in 3 days)\":\n%s", name, left, body)
		}
	}
	st.TimesOutAt = now.Add(5*time.Hour + 40*time.Minute)
	subject, body := stepReminderEmail(req, st, now)
	if want := "Reminder: AMI build app 1.0.0 times out in 6 hours"; subject != want {
		t.Errorf("stepReminderEmail subject = %q, want %q", subject, want)
	}
	if !strings.Contains(body, "(in 6 hours)") {
		t.Errorf("stepReminderEmail with 5h40m left does not say \"(in 6 hours)\":\n%s", body)
	}
}

func TestTargetNoticeNamesCustomerKeys(t *testing.T) {
	req := Request{
		Ref: "abc", ImageARN: "arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1", ImageName: "app", Version: "1.0.0",
		AMIs:     []AMI{{Region: "eu-west-1", ID: "ami-0123456789abcdef0", Name: "app 1"}},
		Targets:  Targets{Accounts: []string{"111111111111"}, OUs: []string{"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456"}},
		KeyNotes: []string{"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
	}
	subject, body := targetNotice(req)
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

// TestMessageTextCannotForgeEmailLines: names, versions, reasons and ARNs
// come from whoever can publish to Image Builder's topic. A line break in
// them must not start a line of the email, such as a second "Review and
// decide" link.
func TestMessageTextCannotForgeEmailLines(t *testing.T) {
	const evil = "Review and decide: https://evil.example/approve"
	// The ARN is no way in: ParseImage refuses one that is not an image
	// ARN (awsid.ParseImageBuilderImageARN), a line break and all.
	forgedARN := `{"arn": "arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1\n` + evil + `", "type": "AMI", "state": {"status": "AVAILABLE"},
		"outputResources": {"amis": [{"region": "us-east-1", "image": "ami-0123456789abcdef0"}]}}`
	if im, err := ParseImage([]byte(forgedARN)); !errors.Is(err, ErrNotImage) {
		t.Errorf("ParseImage(an ARN with a line break) = %+v, %v, want ErrNotImage", im, err)
	}
	msg := `{"arn": "arn:aws:imagebuilder:us-east-1:123456789012:image/app/1.0.0/1",
		"name": "app\n` + evil + `", "version": "1.0.0\r\n` + evil + `\u2028` + evil + `",
		"type": "AMI", "state": {"status": "%s", "reason": "disk full\n` + evil + `\u0085` + evil + `"},
		"outputResources": {"amis": [{"region": "us-east-1", "image": "ami-0123456789abcdef0",
			"name": "app\u000b\n\n` + evil + `\u202e"}]}}`
	available, err := ParseImage([]byte(strings.Replace(msg, "%s", StatusAvailable, 1)))
	if err != nil {
		t.Fatal(err)
	}
	failed, err := ParseImage([]byte(strings.Replace(msg, "%s", "FAILED", 1)))
	if err != nil {
		t.Fatal(err)
	}
	tok := NewToken()
	req := newRequest(available, tok, Targets{Accounts: []string{"111111111111"}}, time.Now(), DefaultLinkTTL)
	link := Link("https://approvals.example.com/", tok)

	emails := map[string][2]string{}
	subject, body := approvalEmail(req, available, link)
	emails["approval"] = [2]string{subject, body}
	subject, body = failureNotice(failed)
	emails["failure"] = [2]string{subject, body}
	subject, body = targetNotice(req)
	emails["target"] = [2]string{subject, body}

	for name, m := range emails {
		subject, body := m[0], m[1]
		if strings.ContainsAny(subject, "\r\n") {
			t.Errorf("%s: subject has a line break: %q", name, subject)
		}
		if strings.ContainsAny(body, "\r\v\f\u0085\u2028\u2029\u202e") {
			t.Errorf("%s: body has a control character or separator:\n%q", name, body)
		}
		for _, line := range strings.Split(body, "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "Review and decide: https://evil") || strings.HasPrefix(l, "https://evil") {
				t.Errorf("%s: a forged line: %q\n%s", name, line, body)
			}
		}
	}
	// The approval email's one link is the real one, right after the one
	// "Review and decide:" line.
	lines := strings.Split(emails["approval"][1], "\n")
	var found int
	for i, line := range lines {
		if line == "Review and decide:" {
			found++
			if i+1 >= len(lines) || lines[i+1] != link {
				t.Errorf("the line after \"Review and decide:\" is not the link")
			}
		}
	}
	if found != 1 {
		t.Errorf("\"Review and decide:\" lines = %d, want 1", found)
	}
}

func TestOneLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"golden-al2023 2026-06-01T07-03-10.104Z", "golden-al2023 2026-06-01T07-03-10.104Z"},
		{"a\nb\r\nc\td", "a?b??c?d"},
		{"a\u0085b\u2028c\u2029d", "a?b?c?d"},
		{"a\x7fb\u009bc", "a?b?c"},
		{"rtl\u202eevil\u2066", "rtl?evil?"},
		{"bad \xff utf8", "bad ? utf8"},
		{"Größe", "Größe"},
	}
	for _, tt := range tests {
		if got := oneLine(tt.in); got != tt.want {
			t.Errorf("oneLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
