package approval

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/deadline"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// SharingLease is how long an approval may stay "sharing" before a new
// Approve or the sweeper may take it over: well past the link function's
// timeout (25 s) and the sweeper's (60 s), so only a stopped invocation is
// taken over, never a running one.
const SharingLease = 2 * time.Minute

// Decider serves the approval page of both flows: it shows requests and
// records decisions (see doc.go). The sweeper uses it too (Sweep).
type Decider struct {
	Store *Store
	// Builds asks Image Builder what a build made: the truth the checks
	// hold each AMI to before it is shared.
	// It acts on a build's waiting workflow step too, in the build's
	// Region.
	Builds *Regional[BuildAPI]
	EC2    *Regional[ImageAPI]
	KMS    *Regional[KeyAPI]
	SNS    notify.PublishAPI
	// Topics lists the approver topic's subscriptions (CheckApprovers).
	Topics         subscriptionsAPI
	TargetTopicARN string
	// ApproverTopicARN hears what the sweeper finished.
	ApproverTopicARN string
	// Targets are the configured targets (TARGET_*), read at share time:
	// an approval is shared with these, narrowed to the request's own.
	Targets Targets
	// OpsTopicARN, when set (the sweeper), hears of every record refused
	// as tampered.
	OpsTopicARN string
	// ReminderLead is how long before a waiting step times out the sweep
	// reminds its approvers (STEP_REMINDER_LEAD).
	ReminderLead time.Duration
	Now          func() time.Time // time.Now when nil
	Log          *slog.Logger
}

// Result is what a decision came to.
type Result struct {
	Request Request
	// Repeated: the request was decided before; nothing was done now.
	Repeated bool
	// Pending: a named request's approval was counted (or, with Repeated,
	// had been), and the quorum is not reached yet; nothing else was done.
	Pending bool
	// Checks are the AMI checks of an approval, when they ran.
	Checks []AMICheck
	// Unrecorded: sharing ended, but its outcome could not be written; the
	// record stays "sharing" with what may be shared, for the sweeper.
	Unrecorded bool
	// Step is the workflow step the request is bound to; nil for the SNS
	// flow's requests.
	Step *Step
}

// View returns the request a token opens and, when it is bound to a
// workflow step, the step (nil for the SNS flow's), without changing
// anything. ErrUnknownToken: no such request; ErrExpired: undecided and
// expired; ErrTampered: the record does not verify.
func (d *Decider) View(ctx context.Context, t Token) (Request, *Step, error) {
	req, st, err := d.Store.readRequest(ctx, t)
	if err != nil {
		return Request{}, nil, err
	}
	if _, err := d.Store.verify(ctx, req, st); err != nil {
		return Request{}, nil, err
	}
	if !req.Decided() && req.Expired(d.now()) {
		return req, st, ErrExpired
	}
	return req, st, nil
}

// Decide records a decision (Approve or Reject) on the request of a token.
// It reads the request once and hands it to its flow's decision: a request
// bound to a workflow step to decideStep (stepdecide.go), any other to
// decideShare. The first decision wins; a later one gets the recorded
// decision back with Repeated set. Errors: ErrUnknownToken, ErrExpired,
// and AWS errors worth a retry.
//
// The work runs on the Run's Work() (deadline.Start(ctx)), which ends a
// margin before the invocation's deadline; undoing and recording run after
// it on the Run's Finish(), so they never run on an expired context.
func (d *Decider) Decide(ctx context.Context, t Token, decision string, who Who) (Result, error) {
	if decision != Approve && decision != Reject {
		return Result{}, fmt.Errorf("decision %q: want %s or %s", decision, Approve, Reject)
	}
	run := deadline.Start(ctx)
	defer run.Stop()
	req, st, err := d.Store.readRequest(run.Work(), t)
	if err != nil {
		return Result{}, err
	}
	if len(req.Approvers) > 0 {
		// A named request: the vote first; the flow's decision only on a
		// rejection or once the quorum is reached (namedecide.go).
		var res Result
		var stop bool
		if req, who, res, stop, err = d.vote(run.Work(), req, st, decision, who); stop {
			res.Step = st
			return res, err
		}
	}
	if st != nil {
		res, err := d.decideStep(run, t, req, *st, decision, who)
		res.Step = st
		return res, err
	}
	return d.decideShare(run, t, req, decision, who)
}

// decideShare is the SNS flow's decision: for an approval, it checks each
// AMI, shares the AMIs and tells the target topic. An approval whose AMIs
// cannot be shared is recorded as refused.
func (d *Decider) decideShare(run *deadline.Run, t Token, req Request, decision string, who Who) (Result, error) {
	work := run.Work()
	done, cancel := run.Finish()
	defer cancel()
	now := d.now()
	audit := Audit{Ref: req.Ref, ImageARN: req.ImageARN, Action: decision, Who: who, At: now, AMIs: req.AMIs, Targets: req.Targets,
		Checked: describedByEC2(req.AMIs)}
	unsealed, err := d.Store.verify(work, req, nil)
	if err != nil {
		return Result{}, d.auditError(done, audit, err)
	}

	switch {
	case req.Decided() && decision == Approve && !unsealed && d.resumable(req, now):
		// An approval whose sharing failed or stopped: share again.
		res, err := d.resume(run, req, audit, false)
		if errors.Is(err, errConflict) {
			return d.repeated(done, t, audit)
		}
		return res, err
	case req.Decided():
		return d.repeated(done, t, audit)
	case req.Expired(now):
		audit.Outcome = "expired"
		d.audit(done, audit)
		return Result{Request: req}, ErrExpired
	}

	req.Decision, req.DecidedAt, req.DecidedBy = decision, now.UTC().Truncate(time.Second), who
	if decision == Reject {
		req.Outcome = OutcomeRejected
		return d.record(run, t, req, audit, nil)
	}

	checks, err := d.check(work, req)
	if err != nil {
		return Result{Request: req}, d.auditError(done, audit, err)
	}
	audit.Checked = checked(checks)
	if reason := refusals(checks); reason != "" {
		req.Outcome, req.Reason = OutcomeRefused, reason
		return d.record(run, t, req, audit, checks)
	}
	req.Outcome, req.lease = OutcomeSharing, rand.Text()
	res, err := d.record(run, t, req, audit, checks)
	if err != nil || res.Repeated {
		return res, err
	}
	return d.share(run, req, audit, checks)
}

// resume takes an approval whose sharing failed (the approver's retry) or
// stopped (the approver's "Finish sharing", or the sweeper) back to sharing
// under a new lease, and shares. The checks run first, so a check that
// cannot run leaves the record as it was. errConflict: someone else took it.
func (d *Decider) resume(run *deadline.Run, req Request, audit Audit, sweep bool) (Result, error) {
	work := run.Work()
	done, cancel := run.Finish()
	defer cancel()
	checks, err := d.check(work, req)
	if err != nil {
		return Result{Request: req}, d.auditError(done, audit, err)
	}
	audit.Checked = checked(checks)
	now, oldLease := d.now(), req.lease
	req.lease = rand.Text()
	if err := d.Store.resumeSharing(work, req, now, now.Add(-SharingLease), sweep); errors.Is(err, errConflict) {
		return Result{Request: req}, err
	} else if err != nil {
		return Result{Request: req}, d.auditError(done, audit, err)
	}
	if req.Outcome == OutcomeSharing && oldLease == "" {
		// A stopped invocation of the version before progress was
		// recorded: any AMI may carry the permission, so any is undone on
		// a refusal or failure.
		req.Shared = append(req.Shared, req.AMIs...)
	}
	req.Outcome, req.Reason = OutcomeSharing, ""
	return d.share(run, req, audit, checks)
}

// record writes the decision; when another was first, that one is returned.
// A decision that starts sharing is audited once sharing ends.
func (d *Decider) record(run *deadline.Run, t Token, req Request, audit Audit, checks []AMICheck) (Result, error) {
	done, cancel := run.Finish()
	defer cancel()
	err := d.Store.recordDecision(run.Work(), req, nil, audit.At)
	if errors.Is(err, errConflict) {
		return d.repeated(done, t, audit)
	}
	if err != nil {
		return Result{Request: req}, d.auditError(done, audit, err)
	}
	if req.Outcome != OutcomeSharing {
		audit.Outcome = req.Outcome
		d.audit(done, audit)
	}
	return Result{Request: req, Checks: checks}, nil
}

// share shares each AMI in its Region with the checks this POST ran, tells
// the target topic, and records the outcome.
//
// All or nothing: an approval ends either shared (every AMI shared, the
// targets told) or with nothing shared. Sharing goes AMI by AMI, one Region
// at a time, and no API shares them all at once; so when it stops part way
// (an AMI in a later Region fails, the budget runs out, or the notice
// fails) or a resumed approval is refused, unshare removes the launch
// permissions this request added, best effort. Undoing is simpler to reason
// about than a half-shared build that the targets were never told of, and a
// retry shares everything again.
//
// Before each share, the record is told that the AMI may carry the
// permission (markSharing): an invocation cut off at any point leaves a
// record that names at least what is shared, and the sweeper finishes it.
// The request records what is true either way: Shared, the AMIs that may
// still carry the permission (their removal failed too), and Unshared, those
// shared and then undone. The page, the audit record and the log show both,
// so "nothing was shared" is said only when it holds. A failure is recorded
// for the approver to retry.
//
// The shares run on the Run's Work(); the undo and the records on its
// Finish(), which the work's end does not cancel.
func (d *Decider) share(run *deadline.Run, req Request, audit Audit, checks []AMICheck) (Result, error) {
	work := run.Work()
	done, cancel := run.Finish()
	defer cancel()
	if reason := refusals(checks); reason != "" {
		req.Outcome, req.Reason = OutcomeRefused, reason
		d.unshare(done, &req)
		return d.finish(done, req, audit, checks)
	}
	// Who gets the AMIs is the configuration's say at share time, narrowed
	// to whom the request named; never whom a record alone names.
	to := req.Targets.Within(d.Targets)
	if to.Empty() {
		req.Outcome, req.Reason = OutcomeRefused, "none of the request's targets is among the targets configured now (TARGET_ACCOUNT_IDS, TARGET_ORGANIZATION_ARNS, TARGET_OU_ARNS)"
		d.unshare(done, &req)
		return d.finish(done, req, audit, checks)
	}
	if to.Describe() != nil && !slices.Equal(to.Describe(), req.Targets.Describe()) {
		d.logger().WarnContext(work, "targets no longer configured are left out", "ref", req.Ref, "requested", req.Targets.Describe(), "sharingWith", to.Describe())
	}
	req.KeyNotes = customerKeys(checks)
	req.AMIs = named(req.AMIs, checks)
	var failure string
	for _, ami := range req.AMIs {
		before := req.Shared
		req.Shared, req.Unshared = addAMI(req.Shared, ami), dropAMI(req.Unshared, ami)
		if err := d.Store.markSharing(work, req, d.now()); errors.Is(err, errConflict) {
			// Another invocation took the approval over: it shares and
			// records from here, and this one must not touch it.
			d.logger().WarnContext(work, "sharing taken over elsewhere; stopping", "ref", req.Ref)
			return Result{Request: req, Checks: checks, Unrecorded: true}, nil
		} else if err != nil {
			d.logger().ErrorContext(work, "sharing not recorded; not sharing", "ref", req.Ref, "amiId", ami.ID, "error", err.Error())
			failure = "recording the sharing failed"
			break
		}
		if err := share(work, d.EC2.In(ami.Region), ami, to); err != nil {
			// The error may name roles and policies: it goes to the log,
			// and the page gets a reason without it.
			d.logger().ErrorContext(work, "sharing failed", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "error", err.Error())
			failure = fmt.Sprintf("sharing failed in %s", ami.Region)
			var refused smithy.APIError
			switch {
			case work.Err() != nil:
				// Cut off: EC2 may have applied it, so it stays listed as
				// possibly shared, and is undone below.
				failure = fmt.Sprintf("sharing ran out of time in %s", ami.Region)
			case errors.As(err, &refused):
				// EC2 answered with a refusal: this call shared nothing.
				req.Shared = before
			}
			break
		}
		d.logger().InfoContext(work, "AMI shared", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "targets", to.Describe())
	}
	if failure == "" {
		told := req
		told.Targets = to
		subject, body := targetNotice(told)
		if _, err := notify.Publish(work, d.SNS, d.TargetTopicARN, notify.Message{Subject: subject, Body: body}); err != nil {
			d.logger().ErrorContext(work, "target notice failed", "ref", req.Ref, "error", err.Error())
			failure = "telling the target accounts failed"
		}
	}
	if failure != "" {
		req.Outcome, req.Reason = OutcomeFailed, failure+"; retry, or ask an operator to check the function's logs"
		d.unshare(done, &req)
		d.logger().ErrorContext(work, "sharing failed; the approver can retry", "ref", req.Ref,
			"stillShared", amiNames(req.Shared), "unshared", amiNames(req.Unshared))
		return d.finish(done, req, audit, checks)
	}
	req.Outcome, req.Reason = OutcomeShared, ""
	return d.finish(done, req, audit, checks)
}

// unshare removes the launch permissions of every AMI in req.Shared, best
// effort: each one removed moves to req.Unshared; one whose removal fails
// stays in req.Shared, and is shown as still shared.
func (d *Decider) unshare(ctx context.Context, req *Request) {
	var still []AMI
	for _, ami := range req.Shared {
		if err := unshare(ctx, d.EC2.In(ami.Region), ami, req.Targets); err != nil {
			d.logger().ErrorContext(ctx, "sharing not undone: the AMI stays shared", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "error", err.Error())
			still = append(still, ami)
			continue
		}
		req.Unshared = addAMI(req.Unshared, ami)
		d.logger().InfoContext(ctx, "AMI unshared", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "targets", req.Targets.Describe())
	}
	req.Shared = still
}

// finish records how sharing ended, on a context the budget's end does not
// cancel. When the write fails, the record stays "sharing" and names what
// may be shared (markSharing): the sweeper or the approver finishes it.
func (d *Decider) finish(ctx context.Context, req Request, audit Audit, checks []AMICheck) (Result, error) {
	req.UpdatedAt = d.now()
	var unrecorded bool
	if err := d.Store.finishSharing(ctx, req, req.UpdatedAt); err != nil {
		d.logger().ErrorContext(ctx, "outcome not recorded; the sweeper finishes it", "ref", req.Ref, "outcome", req.Outcome, "error", err.Error())
		unrecorded = true
	}
	audit.Outcome = req.Outcome
	if req.Reason != "" {
		audit.Outcome += ": " + req.Reason
	}
	if req.Outcome != OutcomeShared {
		if len(req.Shared) > 0 {
			audit.Outcome += "; still shared: " + strings.Join(amiNames(req.Shared), ", ")
		}
		if len(req.Unshared) > 0 {
			audit.Outcome += "; shared, then unshared: " + strings.Join(amiNames(req.Unshared), ", ")
		}
	}
	audit.Shared, audit.Unshared = req.Shared, req.Unshared
	d.audit(ctx, audit)
	if unrecorded {
		// What the page shows must be what the record says: sharing,
		// stopped, with what may be shared.
		shown := req
		shown.Outcome, shown.Reason = OutcomeSharing, ""
		if req.Outcome != OutcomeShared {
			shown.Shared = append(shown.Shared, req.Unshared...)
		}
		return Result{Request: shown, Checks: checks, Unrecorded: true}, nil
	}
	return Result{Request: req, Checks: checks}, nil
}

// repeated reads the recorded decision back, for a second submission.
func (d *Decider) repeated(ctx context.Context, t Token, audit Audit) (Result, error) {
	req, _, err := d.Store.readRequest(ctx, t)
	if err != nil {
		return Result{}, d.auditError(ctx, audit, err)
	}
	if !req.Decided() {
		// The write lost to the clock, not to another decision.
		if req.Expired(d.now()) {
			audit.Outcome = "expired"
			d.audit(ctx, audit)
			return Result{Request: req}, ErrExpired
		}
		return Result{Request: req}, d.auditError(ctx, audit, errors.New("decision not recorded; try again"))
	}
	audit.Outcome, audit.Repeated = "already "+PastTense(req.Decision)+": "+req.Outcome, true
	d.audit(ctx, audit)
	return Result{Request: req, Repeated: true}, nil
}

// resumable says whether an Approve may take up an approval's sharing again.
func (d *Decider) resumable(req Request, now time.Time) bool {
	if req.Decision != Approve || req.Expired(now) {
		return false
	}
	return req.Outcome == OutcomeFailed || req.Stopped(now)
}

// check asks Image Builder for the build, then runs the AMI checks, each
// AMI in its own Region. An AMI Image Builder does not list for the build
// (same ID, same Region, this account) is refused whatever its tags say;
// the tag checks stay as a second line.
func (d *Decider) check(ctx context.Context, req Request) ([]AMICheck, error) {
	b, err := getBuild(ctx, d.Builds, req.ImageARN)
	if err != nil {
		return nil, err
	}
	if b.Denied {
		// Requests are made only for builds Image Builder described, so
		// this is a permission gone wrong: keep the decision open, retry.
		return nil, fmt.Errorf("ask Image Builder for %s: access denied", req.ImageARN)
	}
	checks := make([]AMICheck, 0, len(req.AMIs))
	for _, ami := range req.AMIs {
		c, err := checkAMI(ctx, d.EC2.In(ami.Region), d.KMS.In(ami.Region), ami, req.ImageARN)
		if err != nil {
			return nil, err
		}
		if reason := b.Vouch([]AMI{ami}); reason != "" {
			c.Refusal, c.CustomerKeys = reason, nil
		}
		checks = append(checks, c)
	}
	return checks, nil
}

// audit keeps the attempt. The request item holds the decision itself, so a
// lost audit record loses no decision: it is logged, not retried.
func (d *Decider) audit(ctx context.Context, a Audit) {
	d.logger().InfoContext(ctx, "decision", "ref", a.Ref, "imageArn", a.ImageARN, "action", a.Action,
		"outcome", a.Outcome, "repeated", a.Repeated, "sourceIp", a.Who.SourceIP, "userAgent", a.Who.UserAgent)
	if err := d.Store.putAudit(ctx, a); err != nil {
		d.logger().ErrorContext(ctx, "audit record not written", "ref", a.Ref, "error", err.Error())
	}
}

func (d *Decider) auditError(ctx context.Context, a Audit, err error) error {
	a.Outcome = "error: " + err.Error()
	d.audit(ctx, a)
	return err
}

func (d *Decider) now() time.Time { return clock.Now(d.Now) }

func (d *Decider) logger() *slog.Logger { return cmp.Or(d.Log, slog.Default()) }

// describedByEC2 keeps the AMIs of a request whose name and date EC2 gave
// when the request was made (a request whose AMIs came from Image Builder's
// message holds the message's names, and no dates): the audit record of a
// decision that runs no checks (a reject) names them as EC2 did.
func describedByEC2(amis []AMI) []AMI {
	return slices.DeleteFunc(slices.Clone(amis), func(a AMI) bool { return a.Created.IsZero() })
}

// checked lists the AMIs as the checks found them in EC2.
func checked(checks []AMICheck) []AMI {
	out := make([]AMI, len(checks))
	for i, c := range checks {
		out[i] = AMI{Region: c.AMI.Region, ID: c.AMI.ID, Name: c.Name, Created: c.Created}
	}
	return out
}

// named gives amis the names and creation dates EC2 reported in checks.
func named(amis []AMI, checks []AMICheck) []AMI {
	out := slices.Clone(amis)
	for i, a := range out {
		for _, c := range checks {
			if c.AMI.Region == a.Region && c.AMI.ID == a.ID && (c.Name != "" || !c.Created.IsZero()) {
				out[i].Name, out[i].Created = c.Name, c.Created
			}
		}
	}
	return out
}

// addAMI adds ami to amis unless it is there.
func addAMI(amis []AMI, ami AMI) []AMI {
	if slices.ContainsFunc(amis, func(a AMI) bool { return a.Region == ami.Region && a.ID == ami.ID }) {
		return amis
	}
	return append(amis, ami)
}

// dropAMI removes ami from amis.
func dropAMI(amis []AMI, ami AMI) []AMI {
	return slices.DeleteFunc(slices.Clone(amis), func(a AMI) bool { return a.Region == ami.Region && a.ID == ami.ID })
}

// amiNames lists AMIs as region/ID, for logs and audit records.
func amiNames(amis []AMI) []string {
	out := make([]string, len(amis))
	for i, a := range amis {
		out[i] = a.Region + "/" + a.ID
	}
	return out
}
