package main

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/diskalarm"
	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// Config is the function's configuration, from its environment. Every
// variable is optional: a direct invocation names its own instances and
// topic.
type Config struct {
	// TopicARN is the topic of event-driven and scheduled runs, and of
	// direct invocations that name none.
	TopicARN string
	// Selector picks the instances of event-driven and scheduled runs.
	Selector   diskalarm.Selector
	Alarms     diskalarm.AlarmSettings
	Namespace  string
	WriteRate  float64 // write calls a second
	RecentOnly bool
	// SizeRefresh is how long a disk's kept size serves before it is read
	// again (SIZE_REFRESH).
	SizeRefresh time.Duration
	// FullPass is the time within which the schedule compares every
	// existing alarm (FULL_PASS); QuotaShare the share of each API's
	// account quota a run may take (QUOTA_SHARE).
	FullPass       time.Duration
	QuotaShare     float64
	ResumeQueueURL string
	// ProofKeyID is the KMS HMAC key that seals the continuations; needed
	// with ResumeQueueURL.
	ProofKeyID string
}

func loadConfig(lookup settings.Lookup) (Config, error) {
	r := settings.NewReader(lookup)
	cfg := Config{
		TopicARN:  r.String("SNS_TOPIC_ARN", ""),
		Namespace: r.String("METRIC_NAMESPACE", "CWAgent"),
		Alarms: diskalarm.AlarmSettings{
			Prefix:           r.String("ALARM_PREFIX", diskalarm.DefaultPrefix),
			TreatMissingData: r.String("TREAT_MISSING_DATA", diskalarm.DefaultTreatMissingData),
			Thresholds:       settings.Parse(r, "DISK_THRESHOLDS", "", diskalarm.ParseThresholds),
			// Off unless set: foresight doubles a Warning alarm's price.
			FillWithin: r.Duration("FILL_WITHIN", 0, diskalarm.MinFillWithin, diskalarm.MaxFillWithin),
		},
		// CloudWatch allows 3 PutMetricAlarm calls a second per account
		// by default; staying at it leaves throttling to other writers rare.
		WriteRate:      r.Float("WRITE_RATE", 3, 0.1, 50),
		RecentOnly:     r.Bool("RECENT_METRICS_ONLY", true),
		SizeRefresh:    r.Duration("SIZE_REFRESH", diskalarm.DefaultSizeRefresh, diskalarm.DefaultSlot, 31*24*time.Hour),
		FullPass:       r.Duration("FULL_PASS", diskalarm.DefaultFullPass, diskalarm.DefaultSlot, 31*24*time.Hour),
		QuotaShare:     r.Float("QUOTA_SHARE", diskalarm.DefaultQuotaShare, 0.01, 1),
		ResumeQueueURL: r.String("RESUME_QUEUE_URL", ""),
		ProofKeyID:     r.String("PROOF_KEY_ARN", ""),
	}
	// A diskalarm.InputError says only its reason next to the variable's
	// name; "bad input" would say nothing more.
	check := func(name string, err error) {
		var bad *diskalarm.InputError
		switch {
		case errors.As(err, &bad):
			r.Fail(name, "%s", bad.Reason)
		case err != nil:
			r.Fail(name, "%v", err)
		}
	}
	if cfg.TopicARN != "" {
		_, err := awsid.ParseSNSTopicARN(cfg.TopicARN)
		check("SNS_TOPIC_ARN", err)
	}
	if p := r.String("INSTANCE_NAME_PATTERN", ""); p != "" {
		check("INSTANCE_NAME_PATTERN", diskalarm.ValidatePattern(p))
		cfg.Selector.NamePattern = p
	}
	if t := r.String("ALARM_TAG", ""); t != "" {
		tag, err := awsid.ParseTag(t)
		check("ALARM_TAG", err)
		cfg.Selector.Tag = tag
	}
	if !cfg.Selector.Empty() && cfg.TopicARN == "" {
		r.Fail("SNS_TOPIC_ARN", "required when INSTANCE_NAME_PATTERN or ALARM_TAG is set: the alarms need a topic")
	}
	check("ALARM_PREFIX", diskalarm.ValidatePrefix(cfg.Alarms.Prefix))
	if !slices.Contains(diskalarm.TreatMissingDataValues, cfg.Alarms.TreatMissingData) {
		r.Fail("TREAT_MISSING_DATA", "%q is not one of %v", cfg.Alarms.TreatMissingData, diskalarm.TreatMissingDataValues)
	}
	if len(cfg.Namespace) > 255 || strings.IndexFunc(cfg.Namespace, func(c rune) bool { return c > unicode.MaxASCII || unicode.IsControl(c) }) >= 0 {
		r.Fail("METRIC_NAMESPACE", "%q is not a CloudWatch namespace (ASCII, at most 255 characters)", cfg.Namespace)
	}
	if u := cfg.ResumeQueueURL; u != "" {
		if parsed, err := url.Parse(u); err != nil || (parsed.Scheme != "https" && parsed.Scheme != "http") || parsed.Host == "" {
			r.Fail("RESUME_QUEUE_URL", "%q is not an SQS queue URL", u)
		}
		if cfg.ProofKeyID == "" {
			r.Fail("PROOF_KEY_ARN", "required with RESUME_QUEUE_URL: the continuations are sealed with this KMS HMAC key")
		}
	}
	return cfg, r.Err()
}
