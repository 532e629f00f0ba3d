package main

import (
	"time"

	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment.
type Config struct {
	SnapshotTag rootvolume.Tag
	DeleteTag   rootvolume.Tag
	MinAge      time.Duration
	DryRun      bool
	DeleteRate  float64 // deletes a second
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		SnapshotTag: settings.Parse(r, "SNAPSHOT_TAG", rootvolume.DefaultSnapshotTag.String(), rootvolume.ParseTag),
		DeleteTag:   settings.Parse(r, "DELETE_VOLUME_TAG", rootvolume.DefaultDeleteTag.String(), rootvolume.ParseTag),
		MinAge:      r.Duration("MIN_AGE", time.Hour, 0, 100*365*24*time.Hour),
		DryRun:      r.Bool("DRY_RUN", false),
		// EC2 refills its mutating-call bucket at about 5 a second per
		// account; stay under it so other tools are not starved.
		DeleteRate: r.Float("DELETE_RATE", 5, 0.1, 100),
	}
	if cfg.SnapshotTag == cfg.DeleteTag {
		r.Fail("DELETE_VOLUME_TAG", "must differ from SNAPSHOT_TAG (%s)", cfg.SnapshotTag)
	}
	return cfg, r.Err()
}
