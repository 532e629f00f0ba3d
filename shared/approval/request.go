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

	"github.com/ebs-ops/lambda-suite/shared/clock"
	"github.com/ebs-ops/lambda-suite/shared/mail"
	"github.com/ebs-ops/lambda-suite/shared/notify"
)

// claimLease is how long a claim protects an attempt that has not published
// yet. Past it, the attempt is taken as dead (the function's timeout is far
// shorter) and the next delivery replaces its request.
const claimLease = 2 * time.Minute

// Outcomes of handling an Image Builder message.
const (
	Requested       = "requested"        // request stored, email published
	FailureNotified = "failure-notified" // the build failed; notice published
	Duplicate       = "duplicate"        // this build's email or notice is out already
	Refused         = "refused"          // Image Builder does not vouch for the message: no request, a notice

	NotAnImage = "not-an-image" // the message was rejected: nothing done
)

// Requester turns Image Builder's messages (Handle) and waiting workflow
// steps (HandleStep) into approval requests and emails (see doc.go).
type Requester struct {
	Store *Store
	// Builds asks Image Builder what a build made and about a waiting
	// step, in the build's Region; EC2 names its AMIs.
	Builds           *Regional[BuildAPI]
	EC2              *Regional[NameAPI]
	SNS              notify.PublishAPI
	ApproverTopicARN string
	Targets          Targets
	ApprovalURL      string
	LinkTTL          time.Duration
	// Named, when APPROVERS is set, sends each approver their own link
	// through Mail (SES) instead of one to the approver topic (named.go).
	Named Named
	Mail  *mail.Sender
	Now   func() time.Time // time.Now when nil
	Log   *slog.Logger
}

// RequestResult says what was done with one message.
type RequestResult struct {
	Outcome   string   `json:"outcome"`
	ImageARN  string   `json:"imageArn"`
	Status    string   `json:"status"`
	Ref       string   `json:"ref,omitempty"`
	AMIs      []string `json:"amis,omitempty"`
	Expires   string   `json:"linkExpiresAt,omitempty"`
	MessageID string   `json:"messageId,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	// Replaced: an earlier attempt claimed the build but never published;
	// its request (and token) were replaced.
	Replaced bool `json:"replaced,omitempty"`
}

// Handle acts on one build: an AVAILABLE build gets a request and an email
// with its link, any other status a notice without one. SNS delivers at
// least once, so the build's claim makes a redelivery a Duplicate. It
// returns an error only when a retry can help.
//
// The message is only a hint: before anything is claimed or told, Image
// Builder is asked for the build (GetImage), whatever the message's status.
// The request is for the AMIs Image Builder lists in this account, named as
// EC2 names them; a message naming an AMI that Image Builder does not list,
// or reporting a status Image Builder contradicts (a FAILED message for a
// build Image Builder reports AVAILABLE, or does not know yet), is Refused
// whole, with a notice to the approvers that names the contradiction, and
// no claim, so that a forged message cannot block the build's real one.
// The emails name the build as Image Builder does.
func (r *Requester) Handle(ctx context.Context, im Image) (RequestResult, error) {
	now := r.now()
	res := RequestResult{ImageARN: im.ARN, Status: im.Status}
	b, err := getBuild(ctx, r.Builds, im.ARN)
	if err != nil {
		return res, err
	}
	// What the emails say of the build is Image Builder's, not the
	// message's: its name and version, and a failure's reason.
	im.Name, im.Version = b.Label()
	if im.Available() {
		if reason := b.Vouch(im.AMIs); reason != "" {
			return r.refuse(ctx, im, res, reason)
		}
		if im.AMIs, err = describeAMIs(ctx, r.EC2, b.AMIs); err != nil {
			return res, err
		}
	} else {
		if reason := b.Contradicts(im.Status); reason != "" {
			return r.refuse(ctx, im, res, reason)
		}
		im.Reason = b.Reason
	}
	c := claim{ImageARN: im.ARN, ClaimID: rand.Text(), ClaimedAt: now}

	var req *Request
	var token Token
	var tokens map[string]Token
	if im.Available() {
		token = NewToken()
		rq := newRequest(im, token, r.Targets, now, cmp.Or(r.LinkTTL, DefaultLinkTTL))
		if tokens, err = r.name(ctx, &rq); err != nil {
			return res, err
		}
		mac, err := r.Store.sealRequest(ctx, rq, nil)
		if err != nil {
			return res, err
		}
		rq.requestMAC = mac
		req, c.RequestID = &rq, rq.id
		res.Ref, res.Expires = rq.Ref, stamp(rq.LinkExpiresAt)
		for _, a := range rq.AMIs {
			res.AMIs = append(res.AMIs, a.Region+"/"+a.ID)
		}
	}

	if dup, err := r.claim(ctx, c, req, nil, now, &res); err != nil || dup {
		return res, err
	}

	if req != nil {
		res.Outcome = Requested
		res.MessageID, err = r.send(ctx, c, *req, token, tokens, func(link string) (string, string) { return approvalEmail(*req, im, link) }, now)
		return res, err
	}
	subject, body := failureNotice(im)
	res.Outcome = FailureNotified
	res.MessageID, err = r.publish(ctx, c, func() (string, error) {
		return notify.Publish(ctx, r.SNS, r.ApproverTopicARN, notify.Message{Subject: subject, Body: body})
	}, res.Ref, now)
	return res, err
}

// name makes a request named when APPROVERS is set: its approvers, its
// quorum for its targets, and one ticket and token per approver (keyed by
// address). nil tokens: the SNS mode.
func (r *Requester) name(ctx context.Context, req *Request) (map[string]Token, error) {
	if !r.Named.On() {
		return nil, nil
	}
	req.Approvers, req.Quorum = slices.Clone(r.Named.Approvers), r.Named.QuorumFor(req.Targets)
	return r.Store.newTickets(ctx, req)
}

// send delivers a request's email in both flows: to the approver topic
// with token's link (the SNS mode), or to each named approver with their
// own link, through SES. It returns the SNS message ID, or the SES ones
// joined by commas.
func (r *Requester) send(ctx context.Context, c claim, req Request, token Token, tokens map[string]Token, email func(link string) (subject, body string), now time.Time) (string, error) {
	return r.publish(ctx, c, func() (string, error) {
		if tokens == nil {
			subject, body := email(Link(r.ApprovalURL, token))
			return notify.Publish(ctx, r.SNS, r.ApproverTopicARN, notify.Message{Subject: subject, Body: body})
		}
		var ids []string
		for _, a := range req.Approvers {
			link := Link(r.ApprovalURL, tokens[a.Email])
			subject, body := email(link)
			id, err := r.Mail.Send(ctx, namedEmail(a, req, subject, body, link))
			if err != nil {
				return "", err
			}
			ids = append(ids, id)
		}
		return strings.Join(ids, ","), nil
	}, req.Ref, now)
}

// claim takes c for this attempt, with its request (bound to st when not
// nil), in both flows. dup: the email or notice is out already (a
// redelivery), and res says Duplicate. When an earlier attempt claimed but
// never published, its claim is taken over, its request (and token)
// replaced, and res says Replaced. ErrInProgress: another attempt holds
// the claim within its lease, or took it over first.
func (r *Requester) claim(ctx context.Context, c claim, req *Request, st *Step, now time.Time, res *RequestResult) (dup bool, err error) {
	err = r.Store.createClaim(ctx, c, req, st)
	if !errors.Is(err, errConflict) {
		return false, err
	}
	old, err := r.Store.getClaim(ctx, c.key())
	switch {
	case err != nil:
		return false, err
	case !old.NotifiedAt.IsZero():
		res.Outcome, res.Ref, res.AMIs, res.Expires = Duplicate, "", nil, ""
		return true, nil
	case now.Sub(old.ClaimedAt) < claimLease:
		return false, fmt.Errorf("%s: %w", c, ErrInProgress)
	}
	if err := r.Store.takeOverClaim(ctx, old, c, req, st); errors.Is(err, errConflict) {
		return false, fmt.Errorf("%s: %w", c, ErrInProgress)
	} else if err != nil {
		return false, err
	}
	res.Replaced = true
	return false, nil
}

// publish sends the claim holder's email or notice (deliver), then marks
// the claim sent, in both flows. A failed delivery gives the claim back, so
// that the retry takes over at once; its new links replace these, which
// nobody has used (a named approver whose email went out before the
// failure gets a second, and the first link no longer opens anything).
func (r *Requester) publish(ctx context.Context, c claim, deliver func() (string, error), ref string, now time.Time) (messageID string, err error) {
	messageID, err = deliver()
	if err != nil {
		if rerr := r.Store.releaseClaim(ctx, c); rerr != nil {
			r.logger().WarnContext(ctx, "claim not released; the retry waits for the lease", c.logAttr(), "error", rerr.Error())
		}
		return "", err
	}
	if err := r.Store.markNotified(ctx, c, now); err != nil {
		// The email is out. A retry would send another with a new link and
		// void this one, so none is asked for: a redelivery after the lease
		// does the same, which is the best that at-least-once allows.
		r.logger().ErrorContext(ctx, "email sent but not marked as sent", c.logAttr(), "ref", ref, "error", err.Error())
	}
	return messageID, nil
}

// refuse tells the approvers that a message was refused, and why.
func (r *Requester) refuse(ctx context.Context, im Image, res RequestResult, reason string) (RequestResult, error) {
	res.Outcome, res.Reason = Refused, reason
	subject, body := refusalNotice(im, reason)
	id, err := notify.Publish(ctx, r.SNS, r.ApproverTopicARN, notify.Message{Subject: subject, Body: body})
	if err != nil {
		return res, err
	}
	res.MessageID = id
	return res, nil
}

func newRequest(im Image, t Token, targets Targets, now time.Time, ttl time.Duration) Request {
	now = now.UTC().Truncate(time.Second)
	return Request{
		id:            requestPrefix + t.hash(),
		Ref:           rand.Text(),
		ImageARN:      im.ARN,
		ImageName:     im.Name,
		Version:       im.Version,
		AMIs:          im.AMIs,
		Targets:       targets.clone(),
		CreatedAt:     now,
		LinkExpiresAt: now.Add(ttl),
	}
}

func (r *Requester) now() time.Time { return clock.Now(r.Now) }

func (r *Requester) logger() *slog.Logger { return cmp.Or(r.Log, slog.Default()) }
