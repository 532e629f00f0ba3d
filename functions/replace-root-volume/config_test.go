package main

import (
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

func TestLoadConfig(t *testing.T) {
	got, err := loadConfig(settings.Map(map[string]string{"REPLACEMENTS_TABLE": "replacements"}))
	want := Config{SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag,
		OptInTag: rootvolume.DefaultOptInTag, Table: "replacements"}
	if err != nil || got != want {
		t.Errorf("loadConfig(defaults) = %+v, %v, want %+v", got, err, want)
	}
	_, err = loadConfig(settings.Map(map[string]string{"SNAPSHOT_TAG": "=x", "DELETE_VOLUME_TAG": "aws:x=1",
		"REPLACE_OPT_IN_TAG": "no-equals", "REPLACEMENTS_TABLE": "a b"}))
	for _, name := range []string{"SNAPSHOT_TAG", "DELETE_VOLUME_TAG", "REPLACE_OPT_IN_TAG", "REPLACEMENTS_TABLE"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig(invalid) = %v, want an error naming %s", err, name)
		}
	}
	if _, err := loadConfig(settings.Map(nil)); err == nil || !strings.Contains(err.Error(), "REPLACEMENTS_TABLE") {
		t.Errorf("loadConfig(no table) = %v, want an error naming REPLACEMENTS_TABLE", err)
	}
}
