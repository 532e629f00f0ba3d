// Package proof seals the records the suite later acts on (decisions,
// sharing progress, replacements, root observations, invocation records,
// continuation messages) with a MAC made by a KMS HMAC key of the stack,
// and checks the seal before anything is acted on.
//
// Why KMS and not a secret in an environment variable: the key never
// leaves KMS (HMAC keys are generated in KMS's HSMs and cannot be
// exported), so whoever can read the function's configuration, or write
// its table, still cannot make a valid MAC; the key policy names the only
// roles that may call GenerateMac and VerifyMac, and every use is in
// CloudTrail. A secret in the environment is readable by anyone with
// lambda:GetFunctionConfiguration and lives in every deployment artefact.
//
// The key is an HMAC_256 key (KeySpec HMAC_256, KeyUsage
// GENERATE_VERIFY_MAC) and the algorithm HMAC_SHA_256 (AWS KMS Developer
// Guide, "HMAC keys in AWS KMS"; API reference, GenerateMac and
// VerifyMac: a MAC that does not verify fails with KMSInvalidMacException).
//
// What is sealed is a record's kind and its deciding fields, in a fixed
// order, each length-prefixed so that no two records encode alike; the
// encoding is hashed with SHA-256 first, so a record of any size fits
// GenerateMac's 4,096-byte message limit.
package proof

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// API is the pair of KMS calls a Sealer makes.
type API interface {
	GenerateMac(context.Context, *kms.GenerateMacInput, ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
	VerifyMac(context.Context, *kms.VerifyMacInput, ...func(*kms.Options)) (*kms.VerifyMacOutput, error)
}

var _ API = (*kms.Client)(nil)

// Algorithm is the MAC algorithm of the suite's HMAC_256 keys.
const Algorithm = types.MacAlgorithmSpecHmacSha256

var (
	// ErrUnsealed: the record carries no MAC (written before records were
	// sealed, or by someone who could not make one).
	ErrUnsealed = errors.New("the record carries no MAC")
	// ErrTampered: the record's MAC does not verify: a field that decides
	// was changed, or the MAC was not made by the stack's key.
	ErrTampered = errors.New("the record's MAC does not verify (tampered)")
)

// Sealer makes and checks MACs with one KMS HMAC key.
type Sealer struct {
	KMS API
	// KeyID is the key's ARN (or ID, or alias).
	KeyID string
}

// Field is one deciding field of a record.
type Field struct{ Name, Value string }

// String, Int, Time and List make Fields.
func String(name, v string) Field { return Field{name, v} }

// Int is an integer field.
func Int(name string, v int64) Field { return Field{name, strconv.FormatInt(v, 10)} }

// Bool is a boolean field.
func Bool(name string, v bool) Field { return Field{name, strconv.FormatBool(v)} }

// Time is a time field, in UTC to the nanosecond; the zero time is "".
func Time(name string, v time.Time) Field {
	if v.IsZero() {
		return Field{name, ""}
	}
	return Field{name, v.UTC().Format(time.RFC3339Nano)}
}

// List is a list field; the order is part of what is sealed.
func List(name string, v []string) Field {
	var b strings.Builder
	for _, s := range v {
		fmt.Fprintf(&b, "%d:%s", len(s), s)
	}
	return Field{name, b.String()}
}

// Message is the bytes a MAC is made over: SHA-256 of the kind and the
// fields, each length-prefixed.
func Message(kind string, fields ...Field) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "lambda-suite/proof/v1\n%d:%s\n", len(kind), kind)
	for _, f := range fields {
		fmt.Fprintf(h, "%d:%s=%d:%s\n", len(f.Name), f.Name, len(f.Value), f.Value)
	}
	return h.Sum(nil)
}

// Seal returns the record's MAC, base64-encoded.
func (s *Sealer) Seal(ctx context.Context, kind string, fields ...Field) (string, error) {
	out, err := s.KMS.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId: aws.String(s.KeyID), MacAlgorithm: Algorithm, Message: Message(kind, fields...),
	})
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", kind, err)
	}
	return base64.StdEncoding.EncodeToString(out.Mac), nil
}

// Verify checks a record's MAC: nil when it verifies, ErrUnsealed or
// ErrTampered (wrapped, with the kind) when it does not, and any other
// error when KMS could not be asked, in which case the caller keeps what
// the record would have decided: a failed read means keep.
func (s *Sealer) Verify(ctx context.Context, kind, mac string, fields ...Field) error {
	if mac == "" {
		return fmt.Errorf("%s: %w", kind, ErrUnsealed)
	}
	raw, err := base64.StdEncoding.DecodeString(mac)
	if err != nil || len(raw) == 0 {
		return fmt.Errorf("%s: %w", kind, ErrTampered)
	}
	out, err := s.KMS.VerifyMac(ctx, &kms.VerifyMacInput{
		KeyId: aws.String(s.KeyID), MacAlgorithm: Algorithm, Mac: raw, Message: Message(kind, fields...),
	})
	var invalid *types.KMSInvalidMacException
	switch {
	case errors.As(err, &invalid):
		return fmt.Errorf("%s: %w", kind, ErrTampered)
	case err != nil:
		return fmt.Errorf("verify %s: %w", kind, err)
	case !out.MacValid:
		return fmt.Errorf("%s: %w", kind, ErrTampered)
	}
	return nil
}

// Untrusted reports whether err says the record is not to be trusted (no
// MAC, or one that does not verify), as opposed to KMS not answering.
func Untrusted(err error) bool { return errors.Is(err, ErrUnsealed) || errors.Is(err, ErrTampered) }
