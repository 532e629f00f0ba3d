package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/metrics"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
	"github.com/ebs-ops/lambda-suite/shared/schedule"
)

type handler struct {
	cleaner *rootvolume.Cleaner
	log     *slog.Logger
	notify  *notify.Notifier  // nil: no notifications
	metrics *metrics.Recorder // nil records nothing
}

// count records the run: what was deleted, what was kept and why, what
// failed, and in a dry run what would have been deleted.
func (h *handler) count(sum rootvolume.CleanupSummary, err error) {
	if err != nil {
		h.metrics.AddReason("CleanupRunsFailed", "listing failed", 1)
		return
	}
	h.metrics.Add("VolumesDeleted", len(sum.VolumesDeleted))
	h.metrics.Add("SnapshotsDeleted", len(sum.SnapshotsDeleted))
	h.metrics.Add("RecordsUpdated", len(sum.RecordsUpdated))
	if sum.DryRun {
		h.metrics.Add("VolumesToDelete", len(sum.VolumesToDelete))
		h.metrics.Add("SnapshotsToDelete", len(sum.SnapshotsToDelete))
	}
	for _, s := range sum.Skipped {
		name := "VolumesKept"
		if s.Kind == rootvolume.KindSnapshot {
			name = "SnapshotsKept"
		}
		// The dimension is the reason without its detail, so it has a few
		// values, not one per volume.
		h.metrics.AddReason(name, string(s.Reason), 1)
	}
	for _, f := range sum.Failed {
		h.metrics.AddReason("CleanupFailures", f.Kind, 1)
	}
	// Records that do not verify: forged or changed (tampered), or with
	// no MAC at all (unsealed: forged, or written before records were
	// sealed).
	for _, u := range sum.Untrusted {
		h.metrics.AddReason("RecordsUntrusted", u.Trust, 1)
	}
	if sum.StoppedEarly {
		h.metrics.Add("CleanupStoppedEarly", 1)
	}
	// What the deletes freed; a dry run's would-be figures count under
	// the reason "dry run", so a dashboard does not add them to real ones.
	var reason string
	if sum.DryRun {
		reason = "dry run"
	}
	h.metrics.AddValue("ReclaimedGiB", reason, float64(sum.Reclaim.TotalGiB()), "Gigabytes")
	h.metrics.AddValue("EstimatedMonthlySavingUSD", reason, sum.Reclaim.EstimatedMonthlySavingUSD, "None")
}

// Handle runs one cleanup. The scheduled event carries nothing the cleanup
// needs; an event that is neither the schedule's nor {} (run now) is
// skipped and logged. A listing error is returned (a retry can help, and nothing was
// deleted); failed deletes are reported in the summary.
func (h *handler) Handle(ctx context.Context, ev events.CloudWatchEvent) (rootvolume.CleanupSummary, error) {
	defer h.metrics.Flush()
	if err := schedule.Check(ev); err != nil {
		h.log.WarnContext(ctx, "event skipped: the cleanup runs on its schedule or on {}", "error", err.Error())
		h.metrics.AddReason("CleanupRunsSkipped", "not a schedule", 1)
		return rootvolume.CleanupSummary{}, nil
	}
	sum, err := h.cleaner.Run(ctx)
	h.count(sum, err)
	if err != nil {
		h.log.ErrorContext(ctx, "cleanup aborted before any delete", "error", err.Error())
		return sum, err
	}
	skipped := map[string]int{}
	for _, s := range sum.Skipped {
		skipped[s.Kind+": "+s.Text()]++
	}
	h.log.InfoContext(ctx, "cleanup summary", "dryRun", sum.DryRun,
		"volumesToDelete", len(sum.VolumesToDelete), "snapshotsToDelete", len(sum.SnapshotsToDelete),
		"volumesDeleted", sum.VolumesDeleted, "snapshotsDeleted", sum.SnapshotsDeleted, "recordsUpdated", len(sum.RecordsUpdated),
		"skipped", skipped, "failed", sum.Failed, "stoppedEarly", sum.StoppedEarly,
		"reclaim", sum.Reclaim.Line(sum.DryRun))
	h.notifyResult(ctx, sum)
	return sum, nil
}
