package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

func TestLoadConfig(t *testing.T) {
	got, err := loadConfig(settings.Map(nil))
	want := Config{SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag, MinAge: time.Hour, DeleteRate: 5}
	if err != nil || got != want {
		t.Errorf("loadConfig(defaults) = %+v, %v, want %+v", got, err, want)
	}
	got, err = loadConfig(settings.Map(map[string]string{"MIN_AGE": "24h", "DRY_RUN": "true"}))
	if err != nil || got.MinAge != 24*time.Hour || !got.DryRun {
		t.Errorf("loadConfig(MIN_AGE=24h DRY_RUN=true) = %+v, %v", got, err)
	}
	tests := map[string]map[string]string{
		"MIN_AGE":           {"MIN_AGE": "-1h"},
		"DRY_RUN":           {"DRY_RUN": "perhaps"},
		"DELETE_RATE":       {"DELETE_RATE": "0"},
		"DELETE_VOLUME_TAG": {"DELETE_VOLUME_TAG": "replace-snapshot=true"},
	}
	for name, env := range tests {
		if _, err := loadConfig(settings.Map(env)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig(%v) = %v, want an error naming %s", env, err, name)
		}
	}
}
