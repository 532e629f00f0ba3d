package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	table := map[string]string{"REPLACEMENTS_TABLE": "replacements", "PROOF_KEY_ARN": recordKey}
	got, err := loadConfig(settings.Map(table))
	want := Config{SnapshotTag: rootvolume.DefaultSnapshotTag, DeleteTag: rootvolume.DefaultDeleteTag, KeepTag: rootvolume.DefaultKeepTag,
		MinAge: time.Hour, RetainReplaced: 24 * time.Hour, RetainOrphaned: 168 * time.Hour, DeleteRate: 5, Table: "replacements", RecordKey: recordKey,
		Prices: rootvolume.DefaultPrices, RecycleBinDays: 7}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("loadConfig(defaults) = %+v, %v, want %+v", got, err, want)
	}
	got, err = loadConfig(settings.Map(map[string]string{"REPLACEMENTS_TABLE": "t-1", "PROOF_KEY_ARN": recordKey, "MIN_AGE": "24h", "DRY_RUN": "true",
		"RETAIN_REPLACED": "72h", "RETAIN_ORPHANED": "720h", "ADOPT_EXTERNAL_REPLACEMENTS": "true", "KEEP_TAG": "hold=yes",
		"RECLAIM_PRICES": "gp3=0.0952,snapshot=0.0595"}))
	if err != nil || got.MinAge != 24*time.Hour || !got.DryRun || got.RetainReplaced != 72*time.Hour || got.RetainOrphaned != 720*time.Hour || !got.AdoptExternal ||
		got.KeepTag != (rootvolume.Tag{Key: "hold", Value: "yes"}) || got.Prices.Volume["gp3"] != 0.0952 || got.Prices.Snapshot != 0.0595 ||
		got.Prices.Volume["gp2"] != rootvolume.DefaultPrices.Volume["gp2"] {
		t.Errorf("loadConfig(set) = %+v, %v", got, err)
	}
	tests := map[string]map[string]string{
		"MIN_AGE":                     {"MIN_AGE": "-1h"},
		"DRY_RUN":                     {"DRY_RUN": "perhaps"},
		"DELETE_RATE":                 {"DELETE_RATE": "0"},
		"DELETE_VOLUME_TAG":           {"DELETE_VOLUME_TAG": "replace-snapshot=true"},
		"RETAIN_REPLACED":             {"RETAIN_REPLACED": "a day"},
		"RETAIN_ORPHANED":             {"RETAIN_ORPHANED": "9000h"},
		"PROOF_KEY_ARN":               {"PROOF_KEY_ARN": "1234abcd-12ab-34cd-56ef-1234567890ab"},
		"ADOPT_EXTERNAL_REPLACEMENTS": {"ADOPT_EXTERNAL_REPLACEMENTS": "sometimes"},
		"KEEP_TAG":                    {"KEEP_TAG": "delete-volume=no"},
		"REPLACEMENTS_TABLE":          {"REPLACEMENTS_TABLE": "x"},
		"RECLAIM_PRICES":              {"RECLAIM_PRICES": "gp9=0.1"},
		"RECYCLE_BIN_DAYS":            {"RECYCLE_BIN_DAYS": "366"},
	}
	for name, env := range tests {
		if _, ok := env["REPLACEMENTS_TABLE"]; !ok {
			env["REPLACEMENTS_TABLE"] = "replacements"
		}
		if _, ok := env["PROOF_KEY_ARN"]; !ok {
			env["PROOF_KEY_ARN"] = recordKey
		}
		if _, err := loadConfig(settings.Map(env)); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("loadConfig(%v) = %v, want an error naming %s", env, err, name)
		}
	}
	if _, err := loadConfig(settings.Map(map[string]string{"RETAIN_REPLACED": "9000h"})); err == nil ||
		!strings.Contains(err.Error(), "RETAIN_REPLACED") || !strings.Contains(err.Error(), "REPLACEMENTS_TABLE") {
		t.Errorf("loadConfig(two problems) = %v, want both named", err)
	}
}

const recordKey = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
