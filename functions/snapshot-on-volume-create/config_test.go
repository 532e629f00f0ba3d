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
		{name: "defaults", env: map[string]string{},
			want: Config{SnapshotTag: rootvolume.DefaultSnapshotTag, AttachWait: time.Minute}},
		{name: "custom", env: map[string]string{"SNAPSHOT_TAG": "reset=yes", "ATTACH_WAIT": "90s"},
			want: Config{SnapshotTag: rootvolume.Tag{Key: "reset", Value: "yes"}, AttachWait: 90 * time.Second}},
		{name: "invalid", env: map[string]string{"SNAPSHOT_TAG": "no-equals", "ATTACH_WAIT": "a while"},
			wantErr: []string{"SNAPSHOT_TAG", "ATTACH_WAIT"}},
		{name: "wait beyond Lambda's limit", env: map[string]string{"ATTACH_WAIT": "1h"}, wantErr: []string{"ATTACH_WAIT"}},
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
