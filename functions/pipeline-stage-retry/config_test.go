package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/settings"
	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	base := map[string]string{
		"AWS_REGION":         "eu-west-1",
		"PIPELINES":          "web-app, payments",
		"SCHEDULE_GROUP":     "pipeline-health-retry",
		"SCHEDULER_ROLE_ARN": "arn:aws:iam::123456789012:role/scheduler-invoke",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	defaults := healthgate.RetryConfig{
		Region: "eu-west-1", Pipelines: []string{"web-app", "payments"},
		DefaultCheck: healthgate.DefaultParams("eu-west-1"),
		FirstDelay:   2 * time.Minute, MaxDelay: 15 * time.Minute, Window: 6 * time.Hour,
		ScheduleGroup: "pipeline-health-retry", SchedulerRoleARN: "arn:aws:iam::123456789012:role/scheduler-invoke",
	}
	custom := defaults
	custom.AnyFailure, custom.Window, custom.FirstDelay = true, 2*time.Hour, time.Minute
	custom.DefaultCheck.Regions = []string{"eu-west-1", "eu-central-1"}
	scoped := defaults
	scoped.Organization = true
	scoped.DefaultCheck.Accounts = []string{"111111111111"}
	scoped.DefaultCheck.ExcludeEventTypeCodes = []string{"AWS_EC2_*"}

	tests := []struct {
		name    string
		env     map[string]string
		want    healthgate.RetryConfig
		wantErr []string
	}{
		{name: "defaults", env: base, want: defaults},
		{name: "custom", env: with("RETRY_ANY_FAILURE", "true", "MAX_RETRY_WINDOW", "2h", "RECHECK_DELAY", "1m", "DEFAULT_CHECK", "eu-west-1,eu-central-1"), want: custom},
		{name: "invalid", env: map[string]string{"PIPELINES": "web app", "DEFAULT_CHECK": `{"mode":"x"}`, "MAX_RETRY_WINDOW": "forever", "SCHEDULER_ROLE_ARN": "scheduler"},
			wantErr: []string{"AWS_REGION", "PIPELINES", "DEFAULT_CHECK", "MAX_RETRY_WINDOW", "SCHEDULE_GROUP", "SCHEDULER_ROLE_ARN"}},
		// The old regex took role/.+: a path with no role name, and any
		// partition-like word. ParseRoleARN follows IAM's rules.
		{name: "role ARN with no name", env: with("SCHEDULER_ROLE_ARN", "arn:aws:iam::123456789012:role/path/"), wantErr: []string{"SCHEDULER_ROLE_ARN"}},
		{name: "role ARN of no partition", env: with("SCHEDULER_ROLE_ARN", "arn:awsx:iam::123456789012:role/r"), wantErr: []string{"SCHEDULER_ROLE_ARN"}},
		{name: "no pipeline", env: with("PIPELINES", " , "), wantErr: []string{"PIPELINES"}},
		{name: "notification topic", env: with("NOTIFY_TOPIC_ARN", "arn:aws:sns:eu-west-1:123456789012:pipeline-events"), want: defaults},
		{name: "notification topic not an ARN", env: with("NOTIFY_TOPIC_ARN", "pipeline-events"), wantErr: []string{"NOTIFY_TOPIC_ARN"}},
		{name: "DEFAULT_CHECK scoped, organizational view", env: with("ORGANIZATION_VIEW", "true", "DEFAULT_CHECK", `{"accounts":["111111111111"],"excludeEventTypeCodes":["aws_ec2_*"]}`), want: scoped},
		{name: "DEFAULT_CHECK accounts without the organizational view", env: with("DEFAULT_CHECK", `{"accounts":["111111111111"]}`), wantErr: []string{"DEFAULT_CHECK", "accounts: 111111111111", "ORGANIZATION_VIEW"}},
		{name: "DEFAULT_CHECK bad scope keys", env: with("ORGANIZATION_VIEW", "true", "DEFAULT_CHECK", `{"accounts":["1234"],"actionabilities":["SOON"]}`), wantErr: []string{"DEFAULT_CHECK", "accounts:", "actionabilities:"}},
		{name: "max delay below first", env: with("RECHECK_DELAY", "20m", "RECHECK_MAX_DELAY", "10m"), wantErr: []string{"RECHECK_MAX_DELAY"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(settings.Map(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("loadConfig = %v", err)
				}
				if diff := cmp.Diff(tt.want, got.Retry); diff != "" {
					t.Errorf("loadConfig (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("loadConfig = %+v, nil, want an error naming %v", got, tt.wantErr)
			}
			for _, name := range tt.wantErr {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("loadConfig error %q does not name %s", err, name)
				}
			}
		})
	}
}
