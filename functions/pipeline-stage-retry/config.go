package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/healthgate"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment.
type Config struct {
	Retry healthgate.RetryConfig
	// NotifyTopicARN is the SNS topic told when a stage waits, is retried
	// or is given up on (NOTIFY_TOPIC_ARN); empty for no notifications.
	NotifyTopicARN string
}

var groupName = regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	region := r.String("AWS_REGION", "")
	if region == "" {
		r.Fail("AWS_REGION", "not set (Lambda sets it; set it when running elsewhere)")
	}
	organization := r.Bool("ORGANIZATION_VIEW", false)
	c := healthgate.RetryConfig{
		Region:     region,
		Pipelines:  settings.Parse(r, "PIPELINES", "", parsePipelines),
		AnyFailure: r.Bool("RETRY_ANY_FAILURE", false),
		DefaultCheck: settings.Parse(r, "DEFAULT_CHECK", "", func(s string) (healthgate.Params, error) {
			p, err := healthgate.ParseParams(s, region)
			if err == nil {
				// The function's own account is not known before an
				// invocation: without the organizational view, DEFAULT_CHECK
				// names no accounts.
				err = p.CheckScope(organization, "")
			}
			return p, err
		}),
		// EventBridge Scheduler runs one-time schedules to the minute.
		FirstDelay:       r.Duration("RECHECK_DELAY", 2*time.Minute, healthgate.RecheckDelayMin, healthgate.RecheckDelayMax),
		MaxDelay:         r.Duration("RECHECK_MAX_DELAY", 15*time.Minute, healthgate.RecheckMaxDelayMin, healthgate.RecheckMaxDelayMax),
		Window:           r.Duration("MAX_RETRY_WINDOW", 6*time.Hour, healthgate.RetryWindowMin, healthgate.RetryWindowMax),
		ScheduleGroup:    r.String("SCHEDULE_GROUP", ""),
		SchedulerRoleARN: r.String("SCHEDULER_ROLE_ARN", ""),
		Organization:     organization,
	}
	if !groupName.MatchString(c.ScheduleGroup) {
		r.Fail("SCHEDULE_GROUP", "%q is not a schedule group name", c.ScheduleGroup)
	}
	if _, err := awsid.ParseRoleARN(c.SchedulerRoleARN); err != nil {
		r.Fail("SCHEDULER_ROLE_ARN", "%v", err)
	}
	if c.MaxDelay < c.FirstDelay {
		r.Fail("RECHECK_MAX_DELAY", "%s is shorter than RECHECK_DELAY %s", c.MaxDelay, c.FirstDelay)
	}
	topic := r.String("NOTIFY_TOPIC_ARN", "")
	if err := notify.TopicFromEnv(topic); err != nil {
		r.Fail("NOTIFY_TOPIC_ARN", "%v", err)
	}
	return Config{Retry: c, NotifyTopicARN: topic}, r.Err()
}

// parsePipelines reads the opted-in pipelines: names, comma-separated.
func parsePipelines(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if !awsid.IsPipelineName(name) {
			return nil, fmt.Errorf("%q is not a pipeline name", name)
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, errors.New("no pipeline opted in: name at least one, comma-separated")
	}
	return out, nil
}
