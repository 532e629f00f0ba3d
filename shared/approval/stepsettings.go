package approval

import (
	"time"

	"github.com/ebs-ops/lambda-suite/shared/settings"
)

// ReadReminderLead reads STEP_REMINDER_LEAD, how long before a waiting
// step times out the sweeper reminds its approvers: a Go duration in
// [5m, 168h] (the step's maximum time-out), DefaultReminderLead when unset.
func ReadReminderLead(r *settings.Reader) time.Duration {
	return r.Duration("STEP_REMINDER_LEAD", DefaultReminderLead, 5*time.Minute, MaxStepTimeout)
}
