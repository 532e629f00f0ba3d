package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/notify"
	"github.com/ebs-ops/lambda-suite/shared/rootvolume"
)

// listed caps the IDs a message names per section.
const listed = 50

// refusalReminder is how often people are told again of a refusal that
// stays: the cleanup runs hourly, a person needs to hear of it once a day.
const refusalReminder = 24 * time.Hour

// notifyResult tells people, through NOTIFY_TOPIC_ARN, what a run deleted,
// failed to delete or refused to delete: each refusal when it is new, when
// its reason changes and once a day while it stays (the table's notices
// say when it was told). A dry run, and a run with none of these, say
// nothing.
func (h *handler) notifyResult(ctx context.Context, sum rootvolume.CleanupSummary) {
	if !h.notify.Enabled() {
		return
	}
	now := clock.Now(h.cleaner.Now).UTC()
	m, told, ok := cleanupMessage(sum, now)
	if !ok {
		return
	}
	run := deadline.Start(ctx)
	defer run.Stop()
	fin, cancel := run.Finish()
	defer cancel()
	if err := h.notify.Send(fin, m); err != nil {
		return // logged by Send; told next run, as nothing was recorded
	}
	if err := h.cleaner.Store.PutNotices(fin, told); err != nil {
		h.log.WarnContext(ctx, "refusal notices not recorded: they are told again next run", "error", err.Error())
	}
}

// cleanupMessage is the summary of one run, if it deserves one, and the
// refusals it tells of.
func cleanupMessage(sum rootvolume.CleanupSummary, now time.Time) (notify.Message, []rootvolume.Notice, bool) {
	if sum.DryRun {
		return notify.Message{}, nil, false
	}
	var refused []rootvolume.Skip
	var told []rootvolume.Notice
	repeated := 0
	for _, s := range sum.Skipped {
		if !s.Reason.Refusal() {
			continue
		}
		if toldBefore(sum.Notices, s.ID, string(s.Reason), now) {
			repeated++
			continue
		}
		refused = append(refused, s)
		told = append(told, rootvolume.Notice{ResourceID: s.ID, Reason: string(s.Reason), ToldAt: now})
	}
	// Records that do not verify are told like refusals: when new, and
	// once a day while they stay in the table.
	var untrusted []rootvolume.UntrustedRecord
	for _, u := range sum.Untrusted {
		if toldBefore(sum.Notices, u.ID, u.Trust, now) {
			repeated++
			continue
		}
		untrusted = append(untrusted, u)
		told = append(told, rootvolume.Notice{ResourceID: u.ID, Reason: u.Trust, ToldAt: now})
	}
	deleted := len(sum.VolumesDeleted) + len(sum.SnapshotsDeleted)
	if deleted == 0 && len(refused) == 0 && len(sum.Failed) == 0 && len(untrusted) == 0 {
		return notify.Message{}, nil, false
	}

	var b strings.Builder
	var parts []string
	if deleted > 0 {
		parts = append(parts, fmt.Sprintf("deleted %d", deleted))
		b.WriteString(sum.Reclaim.Line(false) + ".\n\n")
		b.WriteString("Deleted (replaced root volumes past the rollback window, and suite snapshots of volumes that are gone):\n")
		if len(sum.Restorable) > 0 {
			for i, r := range sum.Restorable {
				if i == listed {
					fmt.Fprintf(&b, "- and %d more\n", len(sum.Restorable)-i)
					break
				}
				fmt.Fprintf(&b, "- %s\n", r.Text())
			}
			b.WriteString("To undo a delete, restore it from the Recycle Bin before its date (README, \"Undo: the Recycle Bin\").\n")
		} else {
			writeIDs(&b, "volume", sum.VolumesDeleted)
			writeIDs(&b, "snapshot", sum.SnapshotsDeleted)
		}
		b.WriteString("\n")
	}
	if len(sum.Failed) > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", len(sum.Failed)))
		b.WriteString("Failed to delete (the next run tries again):\n")
		for i, f := range sum.Failed {
			if i == listed {
				fmt.Fprintf(&b, "- and %d more\n", len(sum.Failed)-i)
				break
			}
			fmt.Fprintf(&b, "- %s: %s\n", f.ID, awsid.Clip(f.Error, 300))
		}
		b.WriteString("\n")
	}
	if len(refused) > 0 {
		parts = append(parts, fmt.Sprintf("refused %d", len(refused)))
		b.WriteString("Refused to delete (asked to, but not provably safe; kept, and told again once a day until resolved):\n")
		for i, s := range refused {
			if i == listed {
				fmt.Fprintf(&b, "- and %d more\n", len(refused)-i)
				break
			}
			fmt.Fprintf(&b, "- %s %s: %s\n", s.Kind, s.ID, s.Text())
		}
		b.WriteString("\nWhat to do about a refusal: look at each resource. If it is yours to keep, remove the suite's label " +
			"(the delete-volume or replace-snapshot tag) so it is no longer considered; if it should go, " +
			"delete it yourself after checking (README, \"What the cleanup trusts, and why\").\n")
	}
	if len(untrusted) > 0 {
		parts = append(parts, fmt.Sprintf("%d untrusted records", len(untrusted)))
		b.WriteString("\nRecords that do not verify (tampered: forged or changed; unsealed: no MAC, forged or written by an earlier version). " +
			"Nothing was deleted because of them; find who wrote them (CloudTrail data events on the replacements table), then delete them:\n")
		for i, u := range untrusted {
			if i == listed {
				fmt.Fprintf(&b, "- and %d more\n", len(untrusted)-i)
				break
			}
			fmt.Fprintf(&b, "- %s (%s, names %s): %s\n", u.ID, u.Kind, u.Names, u.Trust)
		}
	}
	switch {
	case repeated == 1:
		b.WriteString("\n1 more refused resource was told within the last day and is still unresolved.\n")
	case repeated > 1:
		fmt.Fprintf(&b, "\n%d more refused resources were told within the last day and are still unresolved.\n", repeated)
	}
	if sum.StoppedEarly {
		b.WriteString("\nThe run stopped at its deadline; the next run continues.\n")
	}
	return notify.Message{Subject: "Root-volume cleanup: " + strings.Join(parts, ", "), Body: b.String()}, told, true
}

// toldBefore reports whether people were told of this resource, for this
// reason, within the last refusalReminder: by a sealed notice (a forged
// one would silence a refusal, or the report of a forged record), not
// dated in the future.
func toldBefore(notices map[string]rootvolume.Notice, id, reason string, now time.Time) bool {
	n, ok := notices[id]
	return ok && n.Trust == rootvolume.Trusted && n.Reason == reason && !n.ToldAt.After(now) && now.Sub(n.ToldAt) < refusalReminder
}

func writeIDs(b *strings.Builder, kind string, ids []string) {
	for i, id := range ids {
		if i == listed {
			fmt.Fprintf(b, "- and %d more %ss\n", len(ids)-i, kind)
			return
		}
		fmt.Fprintf(b, "- %s %s\n", kind, id)
	}
}
