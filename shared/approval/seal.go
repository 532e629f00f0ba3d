package approval

import (
	"context"
	"errors"
	"fmt"

	"github.com/ebs-ops/lambda-suite/shared/proof"
)

// A request item carries two MACs of the stack's proof key (PROOF_KEY_ARN,
// an HMAC_256 key whose key policy lets only the approval functions' roles
// make and check MACs; see shared/proof and docs/ami-approval.md):
//
//	requestMac  made once, when the request is made: what the approver is
//	            asked (the token's hash, the build, its AMIs, the targets,
//	            the link's expiry, the workflow step it is bound to)
//	stateMac    made with every write of the decision and its progress: the
//	            decision, when, the outcome, the lease, what may be shared
//	            and what was unshared, the time of the write
//
// Whoever can write the table but is not one of those roles (a developer
// role, AmazonDynamoDBFullAccess) cannot make either MAC, so an item they
// write or change does not verify, and nothing is done on it: it is
// reported as tampered. Fields that are only shown (names, reasons, key
// notes, who decided) are not sealed; a change to them changes no act.
const (
	requestSeal = "ami-approval/request"
	stateSeal   = "ami-approval/state"
)

// ErrTampered: the request's record does not verify with the proof key
// (its MACs are missing where they must be, or do not match): it was
// written or changed by someone who is none of the approval functions'
// roles. Nothing is done on it; the page answers as for an unknown token.
var ErrTampered = errors.New("request record tampered")

// Tamper is a request record that was refused because it does not verify.
type Tamper struct {
	Ref      string // the record's own ref (as written: not to be trusted)
	ImageARN string // likewise
	// Reason says which seal failed, and how (no MAC, or a MAC that does
	// not verify).
	Reason string
}

func requestFields(r Request, st *Step) []proof.Field {
	f := []proof.Field{
		proof.String("id", r.id), proof.String("ref", r.Ref), proof.String("imageArn", r.ImageARN),
		proof.List("amis", amiNames(r.AMIs)),
		proof.List("targetAccounts", r.Targets.Accounts), proof.List("targetOrganizations", r.Targets.Organizations),
		proof.List("targetOus", r.Targets.OUs),
		proof.String("createdAt", stamp(r.CreatedAt)), proof.String("linkExpiresAt", stamp(r.LinkExpiresAt)),
	}
	f = append(f, namedFields(r)...)
	if st == nil {
		return append(f, proof.String("stepExecutionId", ""))
	}
	return append(f, proof.String("stepExecutionId", st.ExecutionID), proof.String("workflowExecutionId", st.WorkflowExecutionID),
		proof.String("stepRegion", st.Region), proof.String("stepTimesOutAt", stamp(st.TimesOutAt)))
}

func stateFields(r Request) []proof.Field {
	return []proof.Field{
		proof.String("id", r.id), proof.String("decision", r.Decision), proof.String("decidedAt", stamp(r.DecidedAt)),
		proof.String("outcome", r.Outcome), proof.String("lease", r.lease),
		proof.List("sharedAmis", amiNames(r.Shared)), proof.List("unsharedAmis", amiNames(r.Unshared)),
		proof.String("updatedAt", stamp(r.UpdatedAt)),
	}
}

// sealRequest returns the requestMac of a request as it is about to be
// stored.
func (s *Store) sealRequest(ctx context.Context, r Request, st *Step) (string, error) {
	if s.Proof == nil {
		return "", errors.New("seal request: no proof key (PROOF_KEY_ARN)")
	}
	return s.Proof.Seal(ctx, requestSeal, requestFields(r, st)...)
}

// sealState returns the stateMac of a request's decision and progress as
// they are about to be stored (r.UpdatedAt is the write's time).
func (s *Store) sealState(ctx context.Context, r Request) (string, error) {
	if s.Proof == nil {
		return "", errors.New("seal decision: no proof key (PROOF_KEY_ARN)")
	}
	return s.Proof.Seal(ctx, stateSeal, stateFields(r)...)
}

// hasState says whether a record carries any of the decision's fields: a
// request nobody decided carries none, and no stateMac.
func (r Request) hasState() bool {
	return r.Decided() || r.Outcome != "" || r.lease != "" || len(r.Shared) > 0 || len(r.Unshared) > 0 || r.stateMAC != ""
}

// verify checks a request record's MACs. unsealed: the record carries no
// MAC at all, as the version before sealing wrote every request. Such a
// record is trusted for nothing but what that version's link still may
// do: show it, and decide it while nobody has (the decision runs the full
// checks and seals it); it never leads to a share by the sweeper, nor to a
// resumed share. A *TamperError (wrapping ErrTampered) says a sealed record
// does not verify; any other error is KMS not answering, on which nothing
// is decided either.
func (s *Store) verify(ctx context.Context, r Request, st *Step) (unsealed bool, err error) {
	if r.requestMAC == "" && r.stateMAC == "" && len(r.Approvers) == 0 {
		return true, nil
	}
	if s.Proof == nil {
		return false, errors.New("verify request: no proof key (PROOF_KEY_ARN)")
	}
	err = s.Proof.Verify(ctx, requestSeal, r.requestMAC, requestFields(r, st)...)
	if err == nil {
		err = s.verifyVotes(ctx, r)
	}
	if err == nil && r.hasState() {
		err = s.Proof.Verify(ctx, stateSeal, r.stateMAC, stateFields(r)...)
	}
	switch {
	case proof.Untrusted(err):
		return false, tampered(r, err.Error())
	case err != nil:
		return false, fmt.Errorf("verify request %s: %w", r.Ref, err)
	}
	return false, nil
}

// unsealedReason is what a report says of a record without MACs.
const unsealedReason = "the record carries no MAC: written before records were sealed, or forged"

func tampered(r Request, reason string) *TamperError {
	return &TamperError{Tamper: Tamper{Ref: r.Ref, ImageARN: r.ImageARN, Reason: reason}}
}

// TamperError is the error of a record that does not verify.
type TamperError struct{ Tamper Tamper }

func (e *TamperError) Error() string {
	return fmt.Sprintf("%v: request %s: %s", ErrTampered, e.Tamper.Ref, e.Tamper.Reason)
}

func (e *TamperError) Unwrap() error { return ErrTampered }

// tamperOf returns the Tamper an error carries, if it is one.
func tamperOf(err error) (Tamper, bool) {
	var te *TamperError
	if errors.As(err, &te) {
		return te.Tamper, true
	}
	return Tamper{}, false
}
