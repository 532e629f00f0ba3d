package main

import (
	"time"

	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment. What each
// pipeline checks is in its action's UserParameters, not here.
type Config struct {
	// Region is the function's own (AWS_REGION, set by Lambda): the one an
	// empty UserParameters gates.
	Region string
	// DeadlineMargin is how long before the Lambda deadline the gate stops
	// waiting for AWS Health, to leave time to answer CodePipeline.
	DeadlineMargin time.Duration
	// OrganizationView asks AWS Health's organizational view
	// (DescribeEventsForOrganization), which needs it enabled in the
	// organization and the function in its management or delegated
	// administrator account.
	OrganizationView bool
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		Region:           r.String("AWS_REGION", ""),
		DeadlineMargin:   r.Duration("DEADLINE_MARGIN", 3*time.Second, 500*time.Millisecond, time.Minute),
		OrganizationView: r.Bool("ORGANIZATION_VIEW", false),
	}
	if cfg.Region == "" {
		r.Fail("AWS_REGION", "not set (Lambda sets it; set it when running elsewhere)")
	}
	return cfg, r.Err()
}
