package approval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
)

// sharingLease is how long an approval may stay "sharing" before a new
// Approve may take it over: well past the function's timeout, so only a
// stopped invocation is taken over, never a running one.
const sharingLease = 2 * time.Minute

// Decider serves the approval page: it shows requests and records decisions.
type Decider struct {
	Store          *Store
	EC2            *Regional[ImageAPI]
	KMS            *Regional[KeyAPI]
	SNS            publishAPI
	TargetTopicARN string
	Now            func() time.Time // time.Now when nil
	Log            *slog.Logger
}

// Result is what a decision came to.
type Result struct {
	Request Request
	// Repeated: the request was decided before; nothing was done now.
	Repeated bool
	// Checks are the AMI checks of an approval, when they ran.
	Checks []AMICheck
}

// View returns the request a token opens, without changing anything.
// ErrUnknownToken: no such request; ErrExpired: undecided and expired.
func (d *Decider) View(ctx context.Context, t Token) (Request, error) {
	req, err := d.Store.Request(ctx, t)
	if err != nil {
		return Request{}, err
	}
	if !req.Decided() && req.Expired(d.now()) {
		return req, ErrExpired
	}
	return req, nil
}

// Decide records a decision (Approve or Reject) on the request of a token
// and, for an approval, shares the AMIs and tells the target topic. The
// first decision wins; a later one gets the recorded decision back with
// Repeated set. Errors: ErrUnknownToken, ErrExpired, and AWS errors worth a
// retry. An approval whose AMIs cannot be shared is recorded as refused.
func (d *Decider) Decide(ctx context.Context, t Token, decision string, who Who) (Result, error) {
	if decision != Approve && decision != Reject {
		return Result{}, fmt.Errorf("decision %q: want %s or %s", decision, Approve, Reject)
	}
	req, err := d.Store.Request(ctx, t)
	if err != nil {
		return Result{}, err
	}
	now := d.now()
	audit := Audit{Ref: req.Ref, ImageARN: req.ImageARN, Action: decision, Who: who, At: now, AMIs: req.AMIs, Targets: req.Targets}

	switch {
	case req.Decided() && decision == Approve && d.resumable(req, now):
		// An approval whose sharing failed or stopped: share again. The
		// checks run first, once for this POST, so a check that cannot run
		// leaves the record as it was.
		checks, err := d.check(ctx, req)
		if err != nil {
			return Result{Request: req}, d.auditError(ctx, audit, err)
		}
		if err := d.Store.resumeSharing(ctx, req, now, now.Add(-sharingLease)); errors.Is(err, errConflict) {
			return d.repeated(ctx, t, audit)
		} else if err != nil {
			return Result{Request: req}, d.auditError(ctx, audit, err)
		}
		if req.Outcome == OutcomeSharing {
			// A stopped invocation records nothing of what it shared: any
			// AMI may carry the permission, so any is undone on a refusal.
			for _, ami := range req.AMIs {
				req.Shared = addAMI(req.Shared, ami)
			}
		}
		req.Outcome, req.Reason = OutcomeSharing, ""
		return d.share(ctx, req, audit, checks)
	case req.Decided():
		return d.repeated(ctx, t, audit)
	case req.Expired(now):
		audit.Outcome = "expired"
		d.audit(ctx, audit)
		return Result{Request: req}, ErrExpired
	}

	req.Decision, req.DecidedAt, req.DecidedBy = decision, now.UTC().Truncate(time.Second), who
	if decision == Reject {
		req.Outcome = OutcomeRejected
		return d.record(ctx, t, req, audit, nil)
	}

	checks, err := d.check(ctx, req)
	if err != nil {
		return Result{Request: req}, d.auditError(ctx, audit, err)
	}
	if reason := refusals(checks); reason != "" {
		req.Outcome, req.Reason = OutcomeRefused, reason
		return d.record(ctx, t, req, audit, checks)
	}
	req.Outcome = OutcomeSharing
	res, err := d.record(ctx, t, req, audit, checks)
	if err != nil || res.Repeated {
		return res, err
	}
	return d.share(ctx, req, audit, checks)
}

// record writes the decision; when another was first, that one is returned.
// A decision that starts sharing is audited once sharing ends.
func (d *Decider) record(ctx context.Context, t Token, req Request, audit Audit, checks []AMICheck) (Result, error) {
	err := d.Store.recordDecision(ctx, req, audit.At)
	if errors.Is(err, errConflict) {
		return d.repeated(ctx, t, audit)
	}
	if err != nil {
		return Result{Request: req}, d.auditError(ctx, audit, err)
	}
	if req.Outcome != OutcomeSharing {
		audit.Outcome = req.Outcome
		d.audit(ctx, audit)
	}
	return Result{Request: req, Checks: checks}, nil
}

// share shares each AMI in its Region with the checks this POST ran, tells
// the target topic, and records the outcome.
//
// All or nothing: an approval ends either shared (every AMI shared, the
// targets told) or with nothing shared. Sharing goes AMI by AMI, one Region
// at a time, and no API shares them all at once; so when it stops part way
// (an AMI in a later Region fails, or the notice does) or a resumed approval
// is refused, unshare removes the launch permissions this request added,
// best effort. Undoing is simpler to reason about than a half-shared build
// that the targets were never told of, and a retry shares everything again.
// The request records what is true either way: Shared, the AMIs that may
// still carry the permission (their removal failed too), and Unshared, those
// shared and then undone. The page, the audit record and the log show both,
// so "nothing was shared" is said only when it holds. A failure is recorded
// for the approver to retry.
func (d *Decider) share(ctx context.Context, req Request, audit Audit, checks []AMICheck) (Result, error) {
	if reason := refusals(checks); reason != "" {
		req.Outcome, req.Reason = OutcomeRefused, reason
		d.unshare(ctx, &req)
		return d.finish(ctx, req, audit, checks)
	}
	req.KeyNotes = customerKeys(checks)
	var failure string
	for _, ami := range req.AMIs {
		if err := share(ctx, d.EC2.In(ami.Region), ami, req.Targets); err != nil {
			// The error may name roles and policies: it goes to the log,
			// and the page gets a reason without it.
			d.log().ErrorContext(ctx, "sharing failed", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "error", err.Error())
			failure = fmt.Sprintf("sharing failed in %s", ami.Region)
			break
		}
		req.Shared, req.Unshared = addAMI(req.Shared, ami), dropAMI(req.Unshared, ami)
		d.log().InfoContext(ctx, "AMI shared", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "targets", req.Targets.Describe())
	}
	if failure == "" {
		subject, body := TargetNotice(req)
		_, err := d.SNS.Publish(ctx, &sns.PublishInput{
			TopicArn: aws.String(d.TargetTopicARN), Subject: aws.String(subject), Message: aws.String(body),
		})
		if err != nil {
			d.log().ErrorContext(ctx, "target notice failed", "ref", req.Ref, "error", err.Error())
			failure = "telling the target accounts failed"
		}
	}
	if failure != "" {
		req.Outcome, req.Reason = OutcomeFailed, failure+"; retry, or ask an operator to check the function's logs"
		d.unshare(ctx, &req)
		d.log().ErrorContext(ctx, "sharing failed; the approver can retry", "ref", req.Ref,
			"stillShared", amiNames(req.Shared), "unshared", amiNames(req.Unshared))
		return d.finish(ctx, req, audit, checks)
	}
	req.Outcome, req.Reason = OutcomeShared, ""
	return d.finish(ctx, req, audit, checks)
}

// unshare removes the launch permissions of every AMI in req.Shared, best
// effort: each one removed moves to req.Unshared; one whose removal fails
// stays in req.Shared, and is shown as still shared.
func (d *Decider) unshare(ctx context.Context, req *Request) {
	var still []AMI
	for _, ami := range req.Shared {
		if err := unshare(ctx, d.EC2.In(ami.Region), ami, req.Targets); err != nil {
			d.log().ErrorContext(ctx, "sharing not undone: the AMI stays shared", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "error", err.Error())
			still = append(still, ami)
			continue
		}
		req.Unshared = addAMI(req.Unshared, ami)
		d.log().InfoContext(ctx, "AMI unshared", "ref", req.Ref, "amiId", ami.ID, "region", ami.Region, "targets", req.Targets.Describe())
	}
	req.Shared = still
}

func (d *Decider) finish(ctx context.Context, req Request, audit Audit, checks []AMICheck) (Result, error) {
	req.UpdatedAt = d.now()
	if err := d.Store.finishSharing(ctx, req, req.UpdatedAt); err != nil {
		// The AWS side is as the result says; only the record lags, and a
		// later Approve resumes from "sharing" after the lease.
		d.log().ErrorContext(ctx, "outcome not recorded", "ref", req.Ref, "outcome", req.Outcome, "error", err.Error())
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
	return Result{Request: req, Checks: checks}, nil
}

// repeated reads the recorded decision back, for a second submission.
func (d *Decider) repeated(ctx context.Context, t Token, audit Audit) (Result, error) {
	req, err := d.Store.Request(ctx, t)
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
	audit.Outcome, audit.Repeated = "already "+req.Decision+"d: "+req.Outcome, true
	d.audit(ctx, audit)
	return Result{Request: req, Repeated: true}, nil
}

// resumable says whether an Approve may take up an approval's sharing again.
func (d *Decider) resumable(req Request, now time.Time) bool {
	if req.Decision != Approve || req.Expired(now) {
		return false
	}
	return req.Outcome == OutcomeFailed || (req.Outcome == OutcomeSharing && req.UpdatedAt.Before(now.Add(-sharingLease)))
}

// check runs the AMI checks, each AMI in its own Region.
func (d *Decider) check(ctx context.Context, req Request) ([]AMICheck, error) {
	checks := make([]AMICheck, 0, len(req.AMIs))
	for _, ami := range req.AMIs {
		c, err := checkAMI(ctx, d.EC2.In(ami.Region), d.KMS.In(ami.Region), ami, req.ImageARN)
		if err != nil {
			return nil, err
		}
		checks = append(checks, c)
	}
	return checks, nil
}

// audit keeps the attempt. The request item holds the decision itself, so a
// lost audit record loses no decision: it is logged, not retried.
func (d *Decider) audit(ctx context.Context, a Audit) {
	d.log().InfoContext(ctx, "decision", "ref", a.Ref, "imageArn", a.ImageARN, "action", a.Action,
		"outcome", a.Outcome, "repeated", a.Repeated, "sourceIp", a.Who.SourceIP, "userAgent", a.Who.UserAgent)
	if err := d.Store.putAudit(ctx, a); err != nil {
		d.log().ErrorContext(ctx, "audit record not written", "ref", a.Ref, "error", err.Error())
	}
}

func (d *Decider) auditError(ctx context.Context, a Audit, err error) error {
	a.Outcome = "error: " + err.Error()
	d.audit(ctx, a)
	return err
}

func (d *Decider) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Decider) log() *slog.Logger { return cmp.Or(d.Log, slog.Default()) }

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
