package main

import (
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment.
type Config struct {
	SnapshotTag rootvolume.Tag
	AttachWait  time.Duration
	// Table is the replacements table (REPLACEMENTS_TABLE), where every
	// confirmed root volume is recorded; required.
	Table string
	// RecordKey is the HMAC KMS key the records are sealed with
	// (PROOF_KEY_ARN); required.
	RecordKey string
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		SnapshotTag: settings.Parse(r, "SNAPSHOT_TAG", rootvolume.DefaultSnapshotTag.String(), rootvolume.ParseTag),
		// Up to the longest a Lambda invocation may run.
		AttachWait: r.Duration("ATTACH_WAIT", 60*time.Second, 0, 15*time.Minute),
		Table:      settings.Parse(r, "REPLACEMENTS_TABLE", "", awsid.ParseTableName),
		RecordKey:  settings.Parse(r, "PROOF_KEY_ARN", "", rootvolume.ParseRecordKey),
	}
	return cfg, r.Err()
}
