package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/settings"
	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	defaults := Config{
		Namespace:   "CWAgent",
		Alarms:      diskalarm.AlarmSettings{Prefix: diskalarm.DefaultPrefix, TreatMissingData: "missing", Thresholds: diskalarm.DefaultThresholds()},
		WriteRate:   3,
		RecentOnly:  true,
		SizeRefresh: diskalarm.DefaultSizeRefresh,
		FullPass:    diskalarm.DefaultFullPass,
		QuotaShare:  diskalarm.DefaultQuotaShare,
	}
	custom := defaults
	custom.TopicARN = "arn:aws:sns:eu-west-1:123456789012:ops"
	custom.Selector = diskalarm.Selector{NamePattern: "Windows*", Tag: awsid.Tag{Key: "disk-alarms", Value: "enabled"}}
	custom.Alarms.Prefix = "ops/disk/"
	custom.Alarms.TreatMissingData = "breaching"
	custom.Alarms.Thresholds.Linux = diskalarm.LinuxBand{WarningUsedPercent: 75, CriticalUsedPercent: 85}
	custom.Namespace = "Custom/Agent"
	custom.WriteRate = 1.5
	custom.RecentOnly = false
	custom.SizeRefresh = 6 * time.Hour
	custom.FullPass = 12 * time.Hour
	custom.QuotaShare = 0.1
	custom.Alarms.FillWithin = 24 * time.Hour
	custom.ResumeQueueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/ebs-alarms-resume"
	custom.ProofKeyID = "arn:aws:kms:eu-west-1:123456789012:key/0b1c2d3e-aaaa-4bbb-8ccc-123456789abc"

	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{name: "nothing set: direct invocations still work", env: map[string]string{}, want: defaults},
		{name: "everything set", env: map[string]string{
			"SNS_TOPIC_ARN": custom.TopicARN, "INSTANCE_NAME_PATTERN": "Windows*", "ALARM_TAG": "disk-alarms=enabled",
			"ALARM_PREFIX": "ops/disk/", "TREAT_MISSING_DATA": "breaching", "DISK_THRESHOLDS": `{"linux": {"warningUsedPercent": 75, "criticalUsedPercent": 85}}`,
			"METRIC_NAMESPACE": "Custom/Agent", "WRITE_RATE": "1.5", "RECENT_METRICS_ONLY": "false", "SIZE_REFRESH": "6h", "FULL_PASS": "12h", "QUOTA_SHARE": "0.1", "FILL_WITHIN": "24h", "RESUME_QUEUE_URL": custom.ResumeQueueURL, "PROOF_KEY_ARN": custom.ProofKeyID,
		}, want: custom},
		{name: "every variable wrong", env: map[string]string{
			"SNS_TOPIC_ARN": "ops-topic", "INSTANCE_NAME_PATTERN": "bad\x01", "ALARM_TAG": "no-equals", "ALARM_PREFIX": "alarms/*",
			"TREAT_MISSING_DATA": "zero", "DISK_THRESHOLDS": `{"linux": {"warningUsedPercent": 95, "criticalUsedPercent": 90}}`,
			"METRIC_NAMESPACE": "CWAgent\x7f", "WRITE_RATE": "0", "RECENT_METRICS_ONLY": "sometimes", "SIZE_REFRESH": "1m", "FULL_PASS": "forever", "QUOTA_SHARE": "2", "FILL_WITHIN": "10m", "RESUME_QUEUE_URL": "queue",
		}, wantErr: []string{"SNS_TOPIC_ARN", "INSTANCE_NAME_PATTERN", "ALARM_TAG", "ALARM_PREFIX", "TREAT_MISSING_DATA", "DISK_THRESHOLDS", "METRIC_NAMESPACE", "WRITE_RATE", "RECENT_METRICS_ONLY", "SIZE_REFRESH", "FULL_PASS", "QUOTA_SHARE", "FILL_WITHIN", "RESUME_QUEUE_URL", "PROOF_KEY_ARN"}},
		// The edges the old copies disagreed on. diskalarm took the aws:
		// prefix, which AWS reserves; and an account field of any 12
		// characters, which the approval functions refused.
		{name: "an alarm tag with the aws: prefix", env: map[string]string{"SNS_TOPIC_ARN": custom.TopicARN, "ALARM_TAG": "aws:cloudformation:stack-name=x"}, wantErr: []string{"ALARM_TAG", "aws: prefix"}},
		{name: "a topic ARN whose account is not 12 digits", env: map[string]string{"SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:12345678901x:ops"}, wantErr: []string{"SNS_TOPIC_ARN"}},
		{name: "a selection without a topic", env: map[string]string{"ALARM_TAG": "disk-alarms=enabled"}, wantErr: []string{"SNS_TOPIC_ARN: required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(settings.Map(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("loadConfig = %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("loadConfig (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatalf("loadConfig = %+v, nil, want errors naming %v", got, tt.wantErr)
			}
			for _, name := range tt.wantErr {
				if !strings.Contains(err.Error(), name) {
					t.Errorf("loadConfig error %q does not name %s", err, name)
				}
			}
		})
	}
}
