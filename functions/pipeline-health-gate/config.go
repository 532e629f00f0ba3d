package main

import (
	"time"

	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment. What each
// pipeline checks is in its action's UserParameters, not here.
type Config struct {
	// Region is the function's own (AWS_REGION, set by Lambda): the one an
	// empty UserParameters gates.
	Region string
	// DeadlineMargin is how long before the Lambda deadline the gate stops
	// waiting for AWS Health, to leave time to answer CodePipeline. Zero
	// (DEADLINE_MARGIN unset) means the margin that scales with the time
	// given (deadline.Margin: a fifth, at most 30 s). At most
	// maxDeadlineMargin; when it leaves less than a second for the check
	// (a timeout too short for it), the gate fails the job unchecked.
	DeadlineMargin time.Duration
	// OrganizationView asks AWS Health's organizational view
	// (DescribeEventsForOrganization), which needs it enabled in the
	// organization and the function in its management or delegated
	// administrator account.
	OrganizationView bool
	// NotifyTopicARN is the SNS topic told when the gate fails a deployment
	// or starts to wait (NOTIFY_TOPIC_ARN); empty for no notifications.
	NotifyTopicARN string
}

// maxDeadlineMargin bounds DEADLINE_MARGIN: answering CodePipeline takes
// a second or two, and the function's timeout is a minute (infra), so a
// larger margin only takes the time the check needs.
const maxDeadlineMargin = 30 * time.Second

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		Region:           r.String("AWS_REGION", ""),
		DeadlineMargin:   r.Duration("DEADLINE_MARGIN", 0, 500*time.Millisecond, maxDeadlineMargin),
		OrganizationView: r.Bool("ORGANIZATION_VIEW", false),
		NotifyTopicARN:   r.String("NOTIFY_TOPIC_ARN", ""),
	}
	if err := notify.TopicFromEnv(cfg.NotifyTopicARN); err != nil {
		r.Fail("NOTIFY_TOPIC_ARN", "%v", err)
	}
	if cfg.Region == "" {
		r.Fail("AWS_REGION", "not set (Lambda sets it; set it when running elsewhere)")
	}
	return cfg, r.Err()
}
