package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{name: "defaults", env: map[string]string{"REPLACEMENTS_TABLE": "replacements", "PROOF_KEY_ARN": recordKey},
			want: Config{SnapshotTag: rootvolume.DefaultSnapshotTag, AttachWait: time.Minute, Table: "replacements", RecordKey: recordKey,
				OptInTag: rootvolume.DefaultOptInTag, CoverageScope: rootvolume.CoverageOptedIn}},
		{name: "custom", env: map[string]string{"SNAPSHOT_TAG": "reset=yes", "ATTACH_WAIT": "90s", "REPLACEMENTS_TABLE": "t.1", "PROOF_KEY_ARN": recordKey,
			"COVERAGE_SCOPE": "all", "REPLACE_OPT_IN_TAG": "reset-ok=yes", "OPS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:ops"},
			want: Config{SnapshotTag: rootvolume.Tag{Key: "reset", Value: "yes"}, AttachWait: 90 * time.Second, Table: "t.1", RecordKey: recordKey,
				OptInTag: rootvolume.Tag{Key: "reset-ok", Value: "yes"}, CoverageScope: rootvolume.CoverageAll, OpsTopicARN: "arn:aws:sns:us-east-1:123456789012:ops"}},
		{name: "bad coverage settings", env: map[string]string{"REPLACEMENTS_TABLE": "replacements", "PROOF_KEY_ARN": recordKey,
			"COVERAGE_SCOPE": "some", "OPS_TOPIC_ARN": "ops"}, wantErr: []string{"COVERAGE_SCOPE", "OPS_TOPIC_ARN"}},
		{name: "invalid", env: map[string]string{"SNAPSHOT_TAG": "no-equals", "ATTACH_WAIT": "a while", "REPLACEMENTS_TABLE": "no/slash"},
			wantErr: []string{"SNAPSHOT_TAG", "ATTACH_WAIT", "REPLACEMENTS_TABLE"}},
		{name: "wait beyond Lambda's limit", env: map[string]string{"ATTACH_WAIT": "1h", "REPLACEMENTS_TABLE": "replacements", "PROOF_KEY_ARN": recordKey}, wantErr: []string{"ATTACH_WAIT"}},
		{name: "no table, no key", env: map[string]string{}, wantErr: []string{"REPLACEMENTS_TABLE", "PROOF_KEY_ARN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(settings.Map(tt.env))
			if len(tt.wantErr) == 0 {
				if err != nil || got != tt.want {
					t.Errorf("loadConfig = %+v, %v, want %+v", got, err, tt.want)
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

const recordKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
