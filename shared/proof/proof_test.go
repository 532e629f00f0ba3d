package proof

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/ebs-ops/lambda-suite/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func TestSealAndVerify(t *testing.T) {
	cfg, _ := awstest.Moto(t).Config(t)
	c := kms.NewFromConfig(cfg)
	s := &Sealer{KMS: c, KeyID: awstest.HMACKey(t, c)}
	other := &Sealer{KMS: c, KeyID: awstest.HMACKey(t, c)}
	ctx := context.Background()
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	fields := []Field{String("volume", "vol-1"), Time("completedAt", at), List("targets", []string{"111122223333"}), Bool("ok", true), Int("n", 3)}
	mac, err := s.Seal(ctx, "replacement", fields...)
	if err != nil {
		t.Fatal(err)
	}
	forgedBy, err := other.Seal(ctx, "replacement", fields...)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		kind   string
		mac    string
		fields []Field
		want   error
	}{
		{"as sealed", "replacement", mac, fields, nil},
		{"a deciding field changed", "replacement", mac, []Field{String("volume", "vol-2"), fields[1], fields[2], fields[3], fields[4]}, ErrTampered},
		{"a list grown", "replacement", mac, []Field{fields[0], fields[1], List("targets", []string{"111122223333", "444455556666"}), fields[3], fields[4]}, ErrTampered},
		{"another kind of record", "decision", mac, fields, ErrTampered},
		{"made with another key", "replacement", forgedBy, fields, ErrTampered},
		{"not base64", "replacement", "%%%", fields, ErrTampered},
		{"no MAC", "replacement", "", fields, ErrUnsealed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.Verify(ctx, tt.kind, tt.mac, tt.fields...)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
			if tt.want != nil && !Untrusted(err) {
				t.Errorf("Untrusted(%v) = false", err)
			}
		})
	}
}

// TestKMSDownIsNotTampering: a failed read is not a verdict; the caller keeps.
func TestKMSDownIsNotTampering(t *testing.T) {
	cfg, _ := awstest.Moto(t).Config(t)
	s := &Sealer{KMS: kms.NewFromConfig(cfg), KeyID: "arn:aws:kms:us-east-1:111122223333:key/no-such-key"}
	err := s.Verify(context.Background(), "replacement", "AAAA", String("v", "x"))
	if err == nil || Untrusted(err) {
		t.Errorf("Verify with an unknown key = %v, want an error that is not a tampering verdict", err)
	}
}

// TestEncodingIsUnambiguous: fields that would concatenate alike do not
// make the same message.
func TestEncodingIsUnambiguous(t *testing.T) {
	a := Message("k", String("a", "bc"))
	b := Message("k", String("ab", "c"))
	c := Message("k", List("l", []string{"a,b"}))
	d := Message("k", List("l", []string{"a", "b"}))
	if string(a) == string(b) || string(c) == string(d) {
		t.Error("two different records encode alike")
	}
}
