package main

import (
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

func TestLoadConfig(t *testing.T) {
	got, err := loadConfig(settings.Map(nil))
	want := Config{SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag}
	if err != nil || got != want {
		t.Errorf("loadConfig(defaults) = %+v, %v, want %+v", got, err, want)
	}
	_, err = loadConfig(settings.Map(map[string]string{"SNAPSHOT_TAG": "=x", "DELETE_VOLUME_TAG": "aws:x=1"}))
	for _, name := range []string{"SNAPSHOT_TAG", "DELETE_VOLUME_TAG"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig(invalid) = %v, want an error naming %s", err, name)
		}
	}
}
