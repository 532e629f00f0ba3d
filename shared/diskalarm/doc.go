// Package diskalarm keeps CloudWatch disk-space alarms in step with an EC2
// fleet. It finds each instance's disks in the CloudWatch agent's metrics,
// chooses thresholds from each disk's size, and creates, updates or deletes
// the suite's alarms by difference, so that an unchanged fleet costs reads
// only. The decisions are plain functions over plain data; Reconciler
// gathers the data from EC2 and CloudWatch and carries out the plan.
//
// Where each decision lives:
//
//   - event.go: DecodeInvocation tells the triggers apart; removeall.go
//     the operator's remove-all. input.go: every bad input is an
//     InputError (ErrBadInput), whose Reason a caller may ask, and
//     Retryable says whether a retry can help a run.
//   - start.go: what each trigger runs, or why it runs nothing: StartOf
//     for a direct invocation, a state change or the schedule (which
//     stands aside for a chain), ResumeOf for a record on the
//     continuation queue (run, dropped as tampering, or kept for a retry),
//     and Defaults.Resumed, the selection and topic a continuation runs with.
//   - select.go: which instances a Selector selects.
//   - disk.go: which series is a disk (and why one is skipped); size.go:
//     how big a disk is; threshold.go: its thresholds by size; keep.go:
//     the size band kept in a disk's alarm (SIZE_REFRESH) and the
//     Slices that spread reads over the schedule's runs.
//   - scope.go: ScopeOf, which part of the fleet a pass compares (the
//     incremental pass: due buckets and new instances, or all); quota.go:
//     Quotas and QuotaPacers (QUOTA_SHARE), and the meter that counts
//     and paces each API's calls.
//   - alarm.go: the alarms a disk should have (AlarmSettings.Alarms) and
//     how two alarms differ (Changes).
//   - override.go: the lambda-suite:disk-thresholds tag (per-disk
//     thresholds; one that does not read freezes its instance).
//   - foresight.go: FILL_WITHIN, the Warning alarm's metric math (a disk
//     full within the time at its current rate), and WarningSignal, the
//     formula's reference evaluation.
//   - plan.go: PlanChanges, which alarms to create, update, delete or
//     keep (an alarm in doubt is kept).
//   - reconcile.go: Reconcile, one pass: read.go gathers the facts,
//     PlanChanges plans, write.go writes, paced, on the budget.
//   - run.go: Reconciler.Run, a pass and what NextStep decides after it
//     (queue the rest, end, fail), with the lines and Counts it comes with.
//   - cursor.go: how a pass the deadline stops hands the rest on: the
//     steps after the cursor, how far the writes got, and NextStep, the
//     decision whether the chain continues (NextResume), ends or fails
//     (Result.NoProgress).
//   - resume.go: Queue seals, opens and leases the continuations
//     (ContinueAfter hands a pass's rest on), and StandingOf says whether
//     the schedule stands aside for a chain.
//   - line.go: the log Line each decision comes with: why an invocation
//     runs nothing, why a pass failed (FailedLine), and what a Step
//     says after a pass (Step.Lines).
package diskalarm
