package main

import (
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/notify"
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
	// OptInTag marks the instances the coverage run looks after
	// (REPLACE_OPT_IN_TAG), unless CoverageScope is all.
	OptInTag rootvolume.Tag
	// CoverageScope is COVERAGE_SCOPE: opted-in (default) or all.
	CoverageScope string
	// OpsTopicARN (OPS_TOPIC_ARN) is told of a root the coverage run could
	// not snapshot; empty: nobody.
	OpsTopicARN string
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		SnapshotTag: settings.Parse(r, "SNAPSHOT_TAG", rootvolume.DefaultSnapshotTag.String(), rootvolume.ParseTag),
		// Up to the longest a Lambda invocation may run.
		AttachWait:    r.Duration("ATTACH_WAIT", 60*time.Second, 0, 15*time.Minute),
		Table:         settings.Parse(r, "REPLACEMENTS_TABLE", "", awsid.ParseTableName),
		RecordKey:     settings.Parse(r, "PROOF_KEY_ARN", "", rootvolume.ParseRecordKey),
		OptInTag:      settings.Parse(r, "REPLACE_OPT_IN_TAG", rootvolume.DefaultOptInTag.String(), rootvolume.ParseTag),
		CoverageScope: r.String("COVERAGE_SCOPE", rootvolume.CoverageOptedIn),
		OpsTopicARN:   r.String("OPS_TOPIC_ARN", ""),
	}
	if cfg.CoverageScope != rootvolume.CoverageOptedIn && cfg.CoverageScope != rootvolume.CoverageAll {
		r.Fail("COVERAGE_SCOPE", "%q is not %q or %q", cfg.CoverageScope, rootvolume.CoverageOptedIn, rootvolume.CoverageAll)
	}
	if err := notify.TopicFromEnv(cfg.OpsTopicARN); err != nil {
		r.Fail("OPS_TOPIC_ARN", "%v", err)
	}
	return cfg, r.Err()
}
