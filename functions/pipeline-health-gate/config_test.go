package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/settings"
)

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		want    Config
		wantErr []string
	}{
		{name: "defaults: the margin scales", env: map[string]string{"AWS_REGION": "eu-west-1"},
			want: Config{Region: "eu-west-1"}},
		{name: "custom", env: map[string]string{"AWS_REGION": "us-east-1", "DEADLINE_MARGIN": "5s", "ORGANIZATION_VIEW": "true"},
			want: Config{Region: "us-east-1", DeadlineMargin: 5 * time.Second, OrganizationView: true}},
		{name: "invalid", env: map[string]string{"DEADLINE_MARGIN": "soon", "ORGANIZATION_VIEW": "maybe"},
			wantErr: []string{"AWS_REGION", "DEADLINE_MARGIN", "ORGANIZATION_VIEW"}},
		{name: "margin too small", env: map[string]string{"AWS_REGION": "us-east-1", "DEADLINE_MARGIN": "10ms"}, wantErr: []string{"DEADLINE_MARGIN"}},
		{name: "margin too large", env: map[string]string{"AWS_REGION": "us-east-1", "DEADLINE_MARGIN": "45s"}, wantErr: []string{"DEADLINE_MARGIN"}},
		{name: "largest margin", env: map[string]string{"AWS_REGION": "us-east-1", "DEADLINE_MARGIN": "30s"},
			want: Config{Region: "us-east-1", DeadlineMargin: 30 * time.Second}},
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
