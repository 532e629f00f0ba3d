package main

import (
	"strings"
	"testing"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

func TestLoadConfig(t *testing.T) {
	got, err := loadConfig(settings.Map(map[string]string{"REPLACEMENTS_TABLE": "replacements", "PROOF_KEY_ARN": recordKey}))
	want := Config{SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag,
		OptInTag: rootvolume.DefaultOptInTag, Table: "replacements", RecordKey: recordKey}
	if err != nil || got != want {
		t.Errorf("loadConfig(defaults) = %+v, %v, want %+v", got, err, want)
	}
	_, err = loadConfig(settings.Map(map[string]string{"SNAPSHOT_TAG": "=x", "DELETE_VOLUME_TAG": "aws:x=1",
		"REPLACE_OPT_IN_TAG": "no-equals", "REPLACEMENTS_TABLE": "a b", "PROOF_KEY_ARN": "alias/records"}))
	for _, name := range []string{"SNAPSHOT_TAG", "DELETE_VOLUME_TAG", "REPLACE_OPT_IN_TAG", "REPLACEMENTS_TABLE", "PROOF_KEY_ARN"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig(invalid) = %v, want an error naming %s", err, name)
		}
	}
	if _, err := loadConfig(settings.Map(nil)); err == nil || !strings.Contains(err.Error(), "REPLACEMENTS_TABLE") || !strings.Contains(err.Error(), "PROOF_KEY_ARN") {
		t.Errorf("loadConfig(no table, no key) = %v, want an error naming REPLACEMENTS_TABLE and PROOF_KEY_ARN", err)
	}
}

const recordKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
