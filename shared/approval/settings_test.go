package approval

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/settings"
	"github.com/google/go-cmp/cmp"
)

func validEnv() map[string]string {
	return map[string]string{
		"APPROVER_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:ami-approvers",
		"TARGET_TOPIC_ARN":   "arn:aws:sns:us-east-1:123456789012:ami-targets",
		"TARGET_ACCOUNT_IDS": "111111111111, 222222222222,111111111111",
		"APPROVAL_URL":       "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
		"DECISIONS_TABLE":    "ami-approval-decisions",
		"PROOF_KEY_ARN":      "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
	}
}

func TestReadSettings(t *testing.T) {
	with := func(kv ...string) map[string]string {
		env := validEnv()
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	base := Settings{
		ApproverTopicARN: "arn:aws:sns:us-east-1:123456789012:ami-approvers",
		TargetTopicARN:   "arn:aws:sns:us-east-1:123456789012:ami-targets",
		Targets:          Targets{Accounts: []string{"111111111111", "222222222222"}},
		ApprovalURL:      "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/",
		Table:            "ami-approval-decisions",
		LinkTTL:          72 * time.Hour,
		ProofKeyARN:      "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
		Named:            Named{Quorum: 1},
	}
	tests := []struct {
		name    string
		env     map[string]string
		want    func(s *Settings)
		wantErr []string
	}{
		{name: "required only, defaults", env: validEnv(), want: func(*Settings) {}},
		{name: "organizations, OUs, TTL", env: with(
			"TARGET_ORGANIZATION_ARNS", "arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5",
			"TARGET_OU_ARNS", "arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456,arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-00001111",
			"LINK_TTL", "24h", "APPROVAL_URL", "https://approvals.example.com/ami"),
			want: func(s *Settings) {
				s.Targets.Organizations = []string{"arn:aws:organizations::123456789012:organization/o-a1b2c3d4e5"}
				s.Targets.OUs = []string{"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456", "arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-00001111"}
				s.LinkTTL, s.ApprovalURL = 24*time.Hour, "https://approvals.example.com/ami/"
			}},
		{name: "http on loopback for local runs", env: with("APPROVAL_URL", "http://127.0.0.1:8080"),
			want: func(s *Settings) { s.ApprovalURL = "http://127.0.0.1:8080/" }},
		{name: "nothing set", env: map[string]string{},
			wantErr: []string{"APPROVER_TOPIC_ARN: required", "TARGET_TOPIC_ARN", "TARGET_ACCOUNT_IDS", "APPROVAL_URL", "DECISIONS_TABLE", "PROOF_KEY_ARN: required"}},
		{name: "all wrong", env: map[string]string{
			"APPROVER_TOPIC_ARN": "ami-approvers", "TARGET_TOPIC_ARN": "arn:aws:sqs:us-east-1:123456789012:q",
			"TARGET_ACCOUNT_IDS": "1234", "TARGET_ORGANIZATION_ARNS": "o-a1b2c3d4e5", "TARGET_OU_ARNS": "ou-ab12-cdef3456",
			"APPROVAL_URL": "http://approvals.example.com/", "DECISIONS_TABLE": "a b", "LINK_TTL": "3 days",
		}, wantErr: []string{"APPROVER_TOPIC_ARN", "TARGET_TOPIC_ARN", "TARGET_ACCOUNT_IDS", "TARGET_ORGANIZATION_ARNS",
			"TARGET_OU_ARNS", "APPROVAL_URL", "DECISIONS_TABLE", "LINK_TTL"}},
		// The edge the two topic validators disagreed on: this one took any
		// topic name, the disk alarms' checked it. SNS refuses a space.
		{name: "topic name SNS refuses", env: with("TARGET_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ami targets"), wantErr: []string{"TARGET_TOPIC_ARN"}},
		{name: "topic in a partition that does not hold its Region", env: with("TARGET_TOPIC_ARN", "arn:aws-cn:sns:us-east-1:123456789012:ami-targets"), wantErr: []string{"TARGET_TOPIC_ARN"}},
		{name: "GovCloud and China topics and OUs", env: with(
			"APPROVER_TOPIC_ARN", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:ami-approvers",
			"TARGET_OU_ARNS", "arn:aws-cn:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456"),
			want: func(s *Settings) {
				s.ApproverTopicARN = "arn:aws-us-gov:sns:us-gov-west-1:123456789012:ami-approvers"
				s.Targets.OUs = []string{"arn:aws-cn:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-cdef3456"}
			}},
		{name: "proof key given as an alias", env: with("PROOF_KEY_ARN", "arn:aws:kms:us-east-1:123456789012:alias/ami-approval-proof"), wantErr: []string{"PROOF_KEY_ARN"}},
		{name: "accounts listing none", env: with("TARGET_ACCOUNT_IDS", " , "), wantErr: []string{"TARGET_ACCOUNT_IDS"}},
		{name: "link TTL too long", env: with("LINK_TTL", "720h"), wantErr: []string{"LINK_TTL"}},
		{name: "link TTL too short", env: with("LINK_TTL", "1m"), wantErr: []string{"LINK_TTL"}},
		{name: "URL with a query", env: with("APPROVAL_URL", "https://approvals.example.com/?x=1"), wantErr: []string{"APPROVAL_URL"}},
		{name: "URL with credentials", env: with("APPROVAL_URL", "https://user:pw@approvals.example.com/"), wantErr: []string{"APPROVAL_URL"}},
		{name: "relative URL", env: with("APPROVAL_URL", "/approve"), wantErr: []string{"APPROVAL_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := settings.NewReader(settings.Map(tt.env))
			got := ReadSettings(r)
			err := r.Err()
			if len(tt.wantErr) == 0 {
				want := base
				want.Targets = base.Targets.clone()
				tt.want(&want)
				if err != nil {
					t.Fatalf("ReadSettings error = %v", err)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("ReadSettings (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("ReadSettings = %+v, nil error, want one naming %v", got, tt.wantErr)
			}
			for _, name := range tt.wantErr {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("error %q does not name %s", err, name)
				}
			}
		})
	}
}

func TestLink(t *testing.T) {
	tok := NewToken()
	if got, want := Link("https://approvals.example.com/", tok), "https://approvals.example.com/?token="+tok.Secret(); got != want {
		t.Errorf("Link = %q, want %q", got, want)
	}
}

// TestLoadSettings: the functions' loader reads the contract, and stops on
// every bad variable by name.
func TestLoadSettings(t *testing.T) {
	env := validEnv()
	cfg, err := LoadSettings(settings.Map(env))
	if err != nil || cfg.Table != "ami-approval-decisions" || cfg.LinkTTL != 72*time.Hour || len(cfg.Targets.Accounts) != 2 {
		t.Errorf("LoadSettings = %+v, %v", cfg, err)
	}

	env["LINK_TTL"], env["TARGET_ACCOUNT_IDS"] = "forever", "me"
	delete(env, "APPROVAL_URL")
	_, err = LoadSettings(settings.Map(env))
	for _, name := range []string{"LINK_TTL", "TARGET_ACCOUNT_IDS", "APPROVAL_URL"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("LoadSettings error %v does not name %s", err, name)
		}
	}
}
