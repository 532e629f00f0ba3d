package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// The contract itself is tested in shared/approval; this checks that the
// function reads it, and stops on every bad variable by name.
func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"APPROVER_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:ami-approvers",
		"TARGET_TOPIC_ARN":   "arn:aws:sns:us-east-1:123456789012:ami-targets",
		"TARGET_ACCOUNT_IDS": "111111111111",
		"APPROVAL_URL":       "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/",
		"DECISIONS_TABLE":    "ami-approval-decisions",
		"PROOF_KEY_ARN":      "arn:aws:kms:us-east-1:123456789012:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
		"OPS_TOPIC_ARN":      "arn:aws:sns:us-east-1:123456789012:lambda-suite-ops",
	}
	cfg, err := loadConfig(settings.Map(env))
	if err != nil || cfg.Table != "ami-approval-decisions" || cfg.LinkTTL != 72*time.Hour || len(cfg.Targets.Accounts) != 1 {
		t.Errorf("loadConfig = %+v, %v", cfg, err)
	}

	env["LINK_TTL"], env["TARGET_ACCOUNT_IDS"] = "forever", "me"
	delete(env, "APPROVAL_URL")
	delete(env, "OPS_TOPIC_ARN")
	_, err = loadConfig(settings.Map(env))
	for _, name := range []string{"LINK_TTL", "TARGET_ACCOUNT_IDS", "APPROVAL_URL", "OPS_TOPIC_ARN"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig error %v does not name %s", err, name)
		}
	}
}
