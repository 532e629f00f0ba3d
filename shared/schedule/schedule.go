// Package schedule says whether an event starts a scheduled function's run:
// the one rule of the suite's scheduled functions (root-volume-cleanup,
// ami-approval-sweeper), which read everything they act on themselves and
// take nothing from the event.
package schedule

import (
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
)

// The schedule's event, as EventBridge sends it.
const (
	Source     = "aws.events"
	DetailType = "Scheduled Event"
)

// ErrNotASchedule marks an event that starts no run.
var ErrNotASchedule = errors.New("not a schedule")

// Check returns nil for the schedule's event and for an empty one ({}, a
// person running the function now), and otherwise an error wrapping
// ErrNotASchedule that names what came (clipped) and what is wanted.
func Check(ev events.CloudWatchEvent) error {
	if ev.Source == "" && ev.DetailType == "" && len(ev.Detail) == 0 && len(ev.Resources) == 0 && ev.ID == "" {
		return nil
	}
	if ev.Source == Source && ev.DetailType == DetailType {
		return nil
	}
	return fmt.Errorf("%w: source %.80q detail-type %.80q, want %s %q (or {} to run now)",
		ErrNotASchedule, ev.Source, ev.DetailType, Source, DetailType)
}
