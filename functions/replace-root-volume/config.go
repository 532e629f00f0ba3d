package main

import (
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment.
type Config struct {
	SnapshotTag rootvolume.Tag
	DeleteTag   rootvolume.Tag
	OptInTag    rootvolume.Tag
	// Table is the replacements table (REPLACEMENTS_TABLE); required.
	Table string
	// RecordKey is the HMAC KMS key the records are sealed with
	// (PROOF_KEY_ARN); required.
	RecordKey string
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		SnapshotTag: settings.Parse(r, "SNAPSHOT_TAG", rootvolume.DefaultSnapshotTag.String(), rootvolume.ParseTag),
		DeleteTag:   settings.Parse(r, "DELETE_VOLUME_TAG", rootvolume.DefaultDeleteTag.String(), rootvolume.ParseTag),
		OptInTag:    settings.Parse(r, "REPLACE_OPT_IN_TAG", rootvolume.DefaultOptInTag.String(), rootvolume.ParseTag),
		Table:       settings.Parse(r, "REPLACEMENTS_TABLE", "", awsid.ParseTableName),
		RecordKey:   settings.Parse(r, "PROOF_KEY_ARN", "", rootvolume.ParseRecordKey),
	}
	return cfg, r.Err()
}
