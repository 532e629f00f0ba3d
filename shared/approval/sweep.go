package approval

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// sweeperWho is who the audit records name for what the sweeper did.
var sweeperWho = Who{UserAgent: "ami-approval-sweeper"}

// Swept is what the sweeper did with one stopped approval.
type Swept struct {
	Ref     string `json:"ref"`
	Outcome string `json:"outcome"` // shared, failed or refused; "" when another took it
	Reason  string `json:"reason,omitempty"`
	// StillShared lists AMIs whose sharing could not be undone.
	StillShared []string `json:"stillShared,omitempty"`
	Error       string   `json:"error,omitempty"`
	// Tampered says why the record was refused as tampered: it does not
	// verify with the proof key, or carries no MAC; nothing was done.
	Tampered string `json:"tampered,omitempty"`
}

// SweepResult is what one sweep did.
type SweepResult struct {
	// Stopped: the SNS flow's approvals left "sharing" (sweepStopped).
	Stopped []Swept
	// Resent and Reminded: the workflow flow's part (sweepSteps).
	Resent   []Resent
	Reminded []Reminded
	// StepsErr: the step-bound requests could not be listed; nothing was
	// sent again and no reminder went out.
	StepsErr error
}

// Sweep does one sweep of both flows: it finishes the SNS flow's stopped
// approvals (sweepStopped), then sends again the step decisions Image
// Builder never confirmed and reminds the approvers of steps about to time
// out (sweepSteps, with ReminderLead). It returns an error only when it
// could not list the stopped approvals, and then does nothing more.
func (d *Decider) Sweep(ctx context.Context) (SweepResult, error) {
	stopped, err := d.sweepStopped(ctx)
	if err != nil {
		return SweepResult{}, err
	}
	res := SweepResult{Stopped: stopped}
	res.Resent, res.Reminded, res.StepsErr = d.sweepSteps(ctx, d.ReminderLead)
	return res, nil
}

// sweepStopped finishes every approval left "sharing" past its lease: its
// invocation stopped (a timeout, a crash, a failed final write). For each,
// the sweeper takes the lease with a conditional write, so one sweep and
// one approver's retry cannot both act; runs the checks again; and either
// completes the share (every AMI shared, the targets told once) or, when an
// AMI cannot be shared, reverts it (nothing left shared). It records which,
// and tells the approver topic once the outcome is recorded.
//
// It works on deadline.Start(ctx)'s Work() and leaves an approval it had
// no time for to the next sweep. It returns an error only when it could
// not look.
func (d *Decider) sweepStopped(ctx context.Context) ([]Swept, error) {
	run := deadline.Start(ctx)
	defer run.Stop()
	work := run.Work()
	stale, err := d.Store.staleSharing(work, d.now().Add(-SharingLease))
	if err != nil {
		return nil, err
	}
	var out []Swept
	for _, req := range stale {
		if work.Err() != nil {
			d.logger().WarnContext(ctx, "out of time; the next sweep goes on", "left", len(stale)-len(out))
			break
		}
		out = append(out, d.sweepOne(run, req))
	}
	return out, nil
}

func (d *Decider) sweepOne(run *deadline.Run, req Request) Swept {
	work := run.Work()
	sw := Swept{Ref: req.Ref}
	audit := Audit{Ref: req.Ref, ImageARN: req.ImageARN, Action: "sweep", Who: sweeperWho, At: d.now(), AMIs: req.AMIs, Targets: req.Targets}
	// Only a record the approval functions sealed is finished: one without
	// MACs (the version before, or a forgery) or whose MACs do not verify
	// is left as it is, and reported.
	if unsealed, err := d.Store.verify(work, req, nil); err != nil || unsealed {
		if tamper, ok := tamperOf(err); ok || unsealed {
			if unsealed {
				tamper = tampered(req, unsealedReason).Tamper
			}
			sw.Tampered = tamper.Reason
			d.reportTamper(run, req.id, tamper)
			return sw
		}
		d.logger().ErrorContext(work, "stopped approval not checked; the next sweep retries", "ref", req.Ref, "error", err.Error())
		sw.Error = err.Error()
		return sw
	}
	res, err := d.resume(run, req, audit, true)
	switch {
	case errors.Is(err, errConflict):
		d.logger().InfoContext(work, "stopped approval taken by another", "ref", req.Ref)
		return sw
	case err != nil:
		d.logger().ErrorContext(work, "stopped approval not finished; the next sweep retries", "ref", req.Ref, "error", err.Error())
		sw.Error = err.Error()
		return sw
	case res.Unrecorded:
		sw.Error = "outcome not recorded; the next sweep retries"
		return sw
	}
	sw.Outcome, sw.Reason, sw.StillShared = res.Request.Outcome, res.Request.Reason, amiNames(res.Request.Shared)
	if res.Request.Outcome == OutcomeShared {
		sw.StillShared = nil
	}
	done, cancel := run.Finish()
	defer cancel()
	subject, body := sweepNotice(res.Request)
	if _, err := notify.Publish(done, d.SNS, d.ApproverTopicARN, notify.Message{Subject: subject, Body: body}); err != nil {
		// The outcome is recorded and the page shows it; only the email
		// is lost.
		d.logger().ErrorContext(done, "approver notice of the sweep failed", "ref", req.Ref, "error", err.Error())
	}
	d.logger().InfoContext(done, "stopped approval finished", "ref", req.Ref, "outcome", sw.Outcome, "stillShared", sw.StillShared)
	return sw
}

// reportTamper tells the ops topic, once per record, that a record was
// refused as tampered: the record is marked (tamperReportedAt) first, so
// later sweeps, which find it again, only count it. Whoever forged the
// record may have set the mark too; the sweep's metric
// (ApprovalRecordsTampered) counts the record at every sweep regardless.
func (d *Decider) reportTamper(run *deadline.Run, id string, t Tamper) {
	done, cancel := run.Finish()
	defer cancel()
	d.logger().ErrorContext(done, "record refused as tampered: nothing done", "ref", t.Ref, "imageArn", t.ImageARN, "reason", t.Reason)
	if d.OpsTopicARN == "" {
		return
	}
	if err := d.Store.markTamperReported(done, id, d.now()); errors.Is(err, errConflict) {
		return // told at an earlier sweep
	} else if err != nil {
		d.logger().ErrorContext(done, "tampered record not marked; telling the ops topic anyway", "ref", t.Ref, "error", err.Error())
	}
	subject, body := tamperNotice(d.Store.Table, t)
	if _, err := notify.Publish(done, d.SNS, d.OpsTopicARN, notify.Message{Subject: subject, Body: body}); err != nil {
		d.logger().ErrorContext(done, "ops notice of a tampered record failed", "ref", t.Ref, "error", err.Error())
	}
}

// Unfinished is what the sweep could not finish, each named: a stopped
// approval or a step decision whose AWS call failed, or the step-bound
// requests that could not be listed. The next sweep retries each; a record
// refused as tampered is not among them (it is reported, never retried),
// nor is a reminder (one that cannot go out now goes out next time).
func (r SweepResult) Unfinished() []error {
	var failed []error
	for _, s := range r.Stopped {
		if s.Error != "" {
			failed = append(failed, fmt.Errorf("approval %s not finished: %s", s.Ref, s.Error))
		}
	}
	if r.StepsErr != nil {
		return append(failed, fmt.Errorf("workflow steps not listed: %w", r.StepsErr))
	}
	for _, s := range r.Resent {
		if s.Tampered == "" && s.Error != "" {
			failed = append(failed, fmt.Errorf("step decision %s not sent: %s", s.Ref, s.Error))
		}
	}
	return failed
}
