package rootvolume

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/ebs-ops/lambda-suite/shared/awsid"
	"github.com/ebs-ops/lambda-suite/shared/proof"
)

// What the replacements table's records rest on. Anyone granted DynamoDB
// write on the table (a developer role, AmazonDynamoDBFullAccess) can put
// any item in it, so an item is acted on only when its MAC verifies: a MAC
// made by the stack's HMAC key (PROOF_KEY_ARN), whose key policy lets only
// the suite's three roles call GenerateMac and VerifyMac (shared/proof says
// why KMS). The MAC covers the fields that decide, listed by each record's
// fields method; the rest (who asked, EC2's reason, when it was written)
// is for people.

// Trust is what a record's MAC says. The zero value, not checked, is never
// trusted.
type Trust uint8

// A record's trust.
const (
	Unchecked Trust = iota // not verified (yet)
	Trusted                // the MAC verifies
	Unsealed               // no MAC: forged, or written before records were sealed
	Tampered               // a MAC that does not verify: forged or changed
)

func (t Trust) String() string {
	switch t {
	case Trusted:
		return "trusted"
	case Unsealed:
		return "unsealed"
	case Tampered:
		return "tampered"
	}
	return "unchecked"
}

// Untrusted reports whether the record was checked and failed.
func (t Trust) Untrusted() bool { return t == Unsealed || t == Tampered }

// ErrUntrustedRecord refuses to act on a record whose MAC is missing or
// does not verify; it wraps proof.ErrUnsealed or proof.ErrTampered.
var ErrUntrustedRecord = errors.New("untrusted record")

// The kinds a MAC is made for: a MAC of one kind never verifies as another.
const (
	sealReplacement = "rootvolume/replacement"
	sealRoot        = "rootvolume/root"
	sealInvocation  = "rootvolume/invocation"
	sealRollback    = "rootvolume/rollback"
	sealOrphan      = "rootvolume/orphan"
	sealNotice      = "rootvolume/notice"
)

func (r Replacement) fields() []proof.Field {
	return []proof.Field{
		proof.String("id", r.ID), proof.String("clientToken", r.ClientToken), proof.String("instanceId", r.InstanceID),
		proof.String("replacedVolumeId", r.ReplacedVolumeID), proof.String("restoreTo", r.RestoreTo),
		proof.String("snapshotId", r.SnapshotID), proof.Bool("deleteReplacedVolume", r.DeleteReplacedVolume),
		proof.Time("requestedAt", r.RequestedAt), proof.String("taskId", r.TaskID), proof.String("state", r.State),
		proof.Time("taskStartedAt", aws.ToTime(r.TaskStartedAt)), proof.Time("completedAt", aws.ToTime(r.CompletedAt)),
	}
}

func (o RootObservation) fields() []proof.Field {
	return []proof.Field{
		proof.String("id", o.ID), proof.String("instanceId", o.InstanceID), proof.String("volumeId", o.VolumeID),
		proof.String("device", o.Device), proof.Time("volumeCreated", o.VolumeCreated), proof.Time("observedAt", o.ObservedAt),
	}
}

func (i invocationItem) fields() []proof.Field {
	return []proof.Field{proof.String("id", i.ID), proof.String("clientToken", i.ClientToken), proof.Time("at", i.At)}
}

func (r Rollback) fields() []proof.Field {
	return []proof.Field{
		proof.String("id", r.ID), proof.String("volumeId", r.VolumeID), proof.String("taskId", r.TaskID),
		proof.String("instanceId", r.InstanceID), proof.Time("seenAt", r.SeenAt),
	}
}

func (o Orphan) fields() []proof.Field {
	return []proof.Field{
		proof.String("id", o.ID), proof.String("snapshotId", o.SnapshotID), proof.String("volumeId", o.VolumeID),
		proof.Time("firstSeen", o.FirstSeen),
	}
}

func (n Notice) fields() []proof.Field {
	return []proof.Field{proof.String("id", n.ID), proof.String("resourceId", n.ResourceID), proof.String("reason", n.Reason), proof.Time("toldAt", n.ToldAt)}
}

// seal makes a record's MAC.
func (s *Store) seal(ctx context.Context, kind string, fields []proof.Field) (string, error) {
	if s.Sealer == nil {
		return "", fmt.Errorf("seal %s: no record key (PROOF_KEY_ARN)", kind)
	}
	return s.Sealer.Seal(ctx, kind, fields...)
}

// check verifies a record's MAC: its Trust, or an error when KMS could not
// be asked (then nothing is decided: the caller keeps).
func (s *Store) check(ctx context.Context, kind, mac string, fields []proof.Field) (Trust, error) {
	if s.Sealer == nil {
		return Unchecked, fmt.Errorf("verify %s: no record key (PROOF_KEY_ARN)", kind)
	}
	err := s.Sealer.Verify(ctx, kind, mac, fields...)
	switch {
	case err == nil:
		return Trusted, nil
	case errors.Is(err, proof.ErrUnsealed):
		return Unsealed, nil
	case errors.Is(err, proof.ErrTampered):
		return Tampered, nil
	}
	return Unchecked, err
}

// untrusted is the error a caller that needed a record to be trusted
// returns.
func untrusted(what string, t Trust) error {
	inner := proof.ErrTampered
	if t == Unsealed {
		inner = proof.ErrUnsealed
	}
	return fmt.Errorf("%w: %s: %w", ErrUntrustedRecord, what, inner)
}

// CheckReplacement verifies a replacement record's MAC and sets its Trust.
func (s *Store) CheckReplacement(ctx context.Context, r *Replacement) error {
	t, err := s.check(ctx, sealReplacement, r.MAC, r.fields())
	r.Trust = t
	return err
}

// CheckRoot verifies a root observation's MAC and sets its Trust.
func (s *Store) CheckRoot(ctx context.Context, o *RootObservation) error {
	t, err := s.check(ctx, sealRoot, o.MAC, o.fields())
	o.Trust = t
	return err
}

// CheckRollback verifies a rollback record's MAC and sets its Trust.
func (s *Store) CheckRollback(ctx context.Context, r *Rollback) error {
	t, err := s.check(ctx, sealRollback, r.MAC, r.fields())
	r.Trust = t
	return err
}

// CheckOrphan verifies an orphan record's MAC and sets its Trust.
func (s *Store) CheckOrphan(ctx context.Context, o *Orphan) error {
	t, err := s.check(ctx, sealOrphan, o.MAC, o.fields())
	o.Trust = t
	return err
}

// ParseRecordKey reads PROOF_KEY_ARN: the ARN of the stack's HMAC key.
func ParseRecordKey(s string) (string, error) {
	if _, err := awsid.ParseKMSKeyARN(s); err != nil {
		return "", err
	}
	return s, nil
}

// CheckNotice verifies a notice's MAC and sets its Trust.
func (s *Store) CheckNotice(ctx context.Context, n *Notice) error {
	t, err := s.check(ctx, sealNotice, n.MAC, n.fields())
	n.Trust = t
	return err
}
