// Package rootvolume decides and carries out the root-volume lifecycle:
// snapshot every new root volume, start root-volume replacements from those
// snapshots, and clean up the volumes and snapshots that can no longer be
// used.
//
// Where each decision lives:
//
//   - Reading events: event.go (DecodeVolumeEvent, DecodeSnapshotNow) and
//     replace.go (DecodeReplaceRequest, InvocationOf).
//   - Does every root in scope have a restore point, whatever the events
//     did: coverage.go (Snapshotter.Cover, the scheduled safety net).
//   - Is this a root volume, and is a snapshot the suite's: snapshot.go
//     (Snapshotter.Handle, Snapshotter.SnapshotNow, MarkedVolume,
//     IsSuiteSnapshotOf).
//   - Which snapshot a replacement starts from, and which request a task
//     answers: replace.go (Replacer.Replace, NewestUsableSnapshot,
//     ClientToken, MatchTask, RootVolumeOf).
//   - What a record may be trusted with: seal.go (records are sealed with
//     shared/proof; Trust says whether the seal verifies). The records
//     themselves: store.go.
//   - The tags: tag.go (Tag, Default*Tag). Defaults of the settings:
//     store.go (DefaultMinAge, DefaultRetainReplaced, DefaultRetainOrphaned),
//     which the infra uses too.
//
// The cleanup is split by layer:
//
//   - gather.go gathers the facts: the records (seals checked) and EC2's
//     tasks, volumes, roots, snapshots (with AWS Backup's tag), snapshot
//     locks, AMIs and Recycle Bin, as a
//     PlanInput (facts.go).
//   - plan.go decides, from that plain data alone: PlanCleanup runs one
//     function per pass (rollbacks, replacement records, the volumes they
//     name, external tasks, root records, unclaimed labels, snapshots).
//     PinnedRoot decides which volume an external task replaced.
//   - reason.go names why a resource is kept (Reason, Skip), and which
//     reasons are refusals a person must look at (Reason.Refusal).
//   - cleanup.go acts: Cleaner.Run writes the records' outcomes and
//     deletes what the plan allows, paced and within the deadline.
//   - reclaim.go prices what a run deletes (ReclaimOf, Prices);
//     recyclebin.go says until when the Recycle Bin can give it back.
package rootvolume
