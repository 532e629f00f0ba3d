package approval

import (
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/settings"
	"github.com/google/go-cmp/cmp"
)

func TestReadNamed(t *testing.T) {
	three := "alice@example.com, bob@example.com,carol@example.com"
	tests := []struct {
		name    string
		env     map[string]string
		want    Named
		wantErr []string
	}{
		{name: "unset: the SNS mode", env: map[string]string{}, want: Named{Quorum: 1}},
		{name: "comma-separated, quorum 2, stricter", env: map[string]string{
			"APPROVERS": three, "APPROVAL_FROM": "approvals@example.com", "APPROVAL_QUORUM": "2",
			"APPROVAL_QUORUM_ORGANIZATIONS": "ou-ab12-cdef3456=3", "APPROVAL_QUORUM_ACCOUNTS": "111111111111=3"},
			want: Named{Approvers: []Approver{{Email: "alice@example.com"}, {Email: "bob@example.com"}, {Email: "carol@example.com"}},
				From: "approvals@example.com", Quorum: 2, Stricter: map[string]int{"ou-ab12-cdef3456": 3, "111111111111": 3}}},
		{name: "JSON list with names", env: map[string]string{
			"APPROVERS":     `[{"email":"alice@example.com","name":"Alice Adams"},{"email":"bob@example.com"}]`,
			"APPROVAL_FROM": "approvals@example.com"},
			want: Named{Approvers: []Approver{{Email: "alice@example.com", Name: "Alice Adams"}, {Email: "bob@example.com"}},
				From: "approvals@example.com", Quorum: 1}},
		{name: "bad address named", env: map[string]string{"APPROVERS": "alice@example.com,Bob <bob@example.com>", "APPROVAL_FROM": "a@example.com"},
			wantErr: []string{`APPROVERS: approver 2: "Bob <bob@example.com>" is not a bare email address`}},
		{name: "twice", env: map[string]string{"APPROVERS": "alice@example.com,Alice@example.com", "APPROVAL_FROM": "a@example.com"},
			wantErr: []string{"APPROVERS: Alice@example.com is listed twice"}},
		{name: "bad JSON", env: map[string]string{"APPROVERS": `[{"mail":"alice@example.com"}]`, "APPROVAL_FROM": "a@example.com"},
			wantErr: []string{"APPROVERS: not a JSON list"}},
		{name: "no sender", env: map[string]string{"APPROVERS": three},
			wantErr: []string{"APPROVAL_FROM: required with APPROVERS"}},
		{name: "quorum above 1 without approvers", env: map[string]string{"APPROVAL_QUORUM": "2"},
			wantErr: []string{"APPROVAL_QUORUM: 2 needs APPROVERS"}},
		{name: "quorum above the approvers", env: map[string]string{"APPROVERS": three, "APPROVAL_FROM": "a@example.com", "APPROVAL_QUORUM": "4"},
			wantErr: []string{"APPROVAL_QUORUM: 4: want 1 to 3"}},
		{name: "stricter below the quorum, bad items", env: map[string]string{"APPROVERS": three, "APPROVAL_FROM": "a@example.com", "APPROVAL_QUORUM": "2",
			"APPROVAL_QUORUM_ORGANIZATIONS": "ou-ab12-cdef3456=1,arn:aws:organizations::1:ou/x=2", "APPROVAL_QUORUM_ACCOUNTS": "12345=2"},
			wantErr: []string{"APPROVAL_QUORUM_ORGANIZATIONS: 1: want 2 to 3", `APPROVAL_QUORUM_ORGANIZATIONS: "arn:aws:organizations::1:ou/x=2": want ID=N`,
				`APPROVAL_QUORUM_ACCOUNTS: "12345=2": want ID=N with ID a 12-digit account ID`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := settings.NewReader(func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			got := ReadNamed(r)
			err := r.Err()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("ReadNamed (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestQuorumFor(t *testing.T) {
	n := Named{Quorum: 2, Stricter: map[string]int{"ou-ab12-prod0001": 3, "222222222222": 3}}
	tests := []struct {
		name    string
		targets Targets
		want    int
	}{
		{"accounts only", Targets{Accounts: []string{"111111111111"}}, 2},
		{"a production OU", Targets{Accounts: []string{"111111111111"}, OUs: []string{"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-prod0001"}}, 3},
		{"another OU", Targets{OUs: []string{"arn:aws:organizations::123456789012:ou/o-a1b2c3d4e5/ou-ab12-test0001"}}, 2},
		{"a stricter account", Targets{Accounts: []string{"222222222222"}}, 3},
	}
	for _, tt := range tests {
		if got := n.QuorumFor(tt.targets); got != tt.want {
			t.Errorf("%s: QuorumFor = %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := (Named{}).QuorumFor(Targets{}); got != 1 {
		t.Errorf("the SNS mode's quorum = %d, want 1", got)
	}
}
