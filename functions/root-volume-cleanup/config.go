package main

import (
	"strconv"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment.
type Config struct {
	SnapshotTag rootvolume.Tag
	DeleteTag   rootvolume.Tag
	KeepTag     rootvolume.Tag
	// MinAge is how old a snapshot must be before it is deleted.
	MinAge time.Duration
	// RetainReplaced is the rollback window after a replacement completed.
	RetainReplaced time.Duration
	// RetainOrphaned is how long a suite snapshot is kept after the cleanup
	// first saw its source volume gone.
	RetainOrphaned time.Duration
	AdoptExternal  bool
	DryRun         bool
	DeleteRate     float64 // deletes a second
	Table          string
	// RecordKey is the HMAC KMS key the records are sealed with
	// (PROOF_KEY_ARN); required.
	RecordKey string
	// NotifyTopicARN is the SNS topic told what a run deleted or refused to
	// delete (NOTIFY_TOPIC_ARN); empty for no notifications.
	NotifyTopicARN string
	// Prices price what a run reclaims (RECLAIM_PRICES over the us-east-1
	// list prices).
	Prices rootvolume.Prices
	// RecycleBinDays is how long the stack's Recycle Bin rule keeps the
	// snapshots the cleanup deletes (RECYCLE_BIN_DAYS; 0: no rule).
	RecycleBinDays int
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		SnapshotTag:    settings.Parse(r, "SNAPSHOT_TAG", rootvolume.DefaultSnapshotTag.String(), rootvolume.ParseTag),
		DeleteTag:      settings.Parse(r, "DELETE_VOLUME_TAG", rootvolume.DefaultDeleteTag.String(), rootvolume.ParseTag),
		KeepTag:        settings.Parse(r, "KEEP_TAG", rootvolume.DefaultKeepTag.String(), rootvolume.ParseTag),
		MinAge:         r.Duration("MIN_AGE", rootvolume.DefaultMinAge, 0, 100*365*24*time.Hour),
		RetainReplaced: r.Duration("RETAIN_REPLACED", rootvolume.DefaultRetainReplaced, 0, rootvolume.MaxRetainReplaced),
		RetainOrphaned: r.Duration("RETAIN_ORPHANED", rootvolume.DefaultRetainOrphaned, 0, rootvolume.MaxRetainReplaced),
		AdoptExternal:  r.Bool("ADOPT_EXTERNAL_REPLACEMENTS", false),
		DryRun:         r.Bool("DRY_RUN", false),
		// EC2 refills its mutating-call bucket at about 5 a second per
		// account; stay under it so other tools are not starved.
		DeleteRate:     r.Float("DELETE_RATE", 5, 0.1, 100),
		Table:          settings.Parse(r, "REPLACEMENTS_TABLE", "", awsid.ParseTableName),
		RecordKey:      settings.Parse(r, "PROOF_KEY_ARN", "", rootvolume.ParseRecordKey),
		NotifyTopicARN: r.String("NOTIFY_TOPIC_ARN", ""),
		Prices:         settings.Parse(r, "RECLAIM_PRICES", "", rootvolume.ParsePrices),
		RecycleBinDays: settings.Parse(r, "RECYCLE_BIN_DAYS", strconv.Itoa(rootvolume.DefaultRecycleBinDays), rootvolume.ParseRecycleBinDays),
	}
	if err := notify.TopicFromEnv(cfg.NotifyTopicARN); err != nil {
		r.Fail("NOTIFY_TOPIC_ARN", "%v", err)
	}
	if cfg.SnapshotTag == cfg.DeleteTag {
		r.Fail("DELETE_VOLUME_TAG", "must differ from SNAPSHOT_TAG (%s)", cfg.SnapshotTag)
	}
	if cfg.KeepTag.Key == cfg.DeleteTag.Key || cfg.KeepTag.Key == cfg.SnapshotTag.Key {
		r.Fail("KEEP_TAG", "must have a key of its own, not DELETE_VOLUME_TAG's or SNAPSHOT_TAG's")
	}
	return cfg, r.Err()
}
