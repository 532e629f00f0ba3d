package main

import (
	"time"

	"github.com/ebs-ops/lambda-suite/shared/approval"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment: the
// approval contract both approval functions share.
type Config struct {
	approval.Settings
	ReminderLead time.Duration // STEP_REMINDER_LEAD: the workflow mode's reminder
	// OpsTopicARN (OPS_TOPIC_ARN) hears of records refused as tampered.
	OpsTopicARN string
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{Settings: approval.ReadSettings(r), ReminderLead: approval.ReadReminderLead(r), OpsTopicARN: approval.ReadOpsTopic(r)}
	return cfg, r.Err()
}
