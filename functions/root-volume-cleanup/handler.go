package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

type handler struct {
	cleaner *rootvolume.Cleaner
	log     *slog.Logger
	notify  *notify.Notifier // nil: no notifications
}

// Handle runs one cleanup. The scheduled event carries nothing the cleanup
// needs. A listing error is returned (a retry can help, and nothing was
// deleted); failed deletes are reported in the summary.
func (h *handler) Handle(ctx context.Context, _ events.CloudWatchEvent) (rootvolume.CleanupSummary, error) {
	sum, err := h.cleaner.Run(ctx)
	if err != nil {
		h.log.ErrorContext(ctx, "cleanup aborted before any delete", "error", err.Error())
		return sum, err
	}
	skipped := map[string]int{}
	for _, s := range sum.Skipped {
		skipped[s.Kind+": "+s.Reason]++
	}
	h.log.InfoContext(ctx, "cleanup summary", "dryRun", sum.DryRun,
		"volumesToDelete", len(sum.VolumesToDelete), "snapshotsToDelete", len(sum.SnapshotsToDelete),
		"volumesDeleted", sum.VolumesDeleted, "snapshotsDeleted", sum.SnapshotsDeleted, "recordsUpdated", len(sum.RecordsUpdated),
		"skipped", skipped, "failed", sum.Failed, "stoppedEarly", sum.StoppedEarly)
	h.notifyResult(ctx, sum)
	return sum, nil
}
