package approval

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestNewTokenIsRandomAndWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := NewToken()
		s := tok.Secret()
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || len(b)*8 < 128 {
			t.Fatalf("token %q: %d random bits, %v; want at least 128", s, len(b)*8, err)
		}
		if seen[s] {
			t.Fatalf("token %q made twice", s)
		}
		seen[s] = true
		if back, err := ParseToken(s); err != nil || back != tok {
			t.Fatalf("ParseToken(NewToken()) = %v, %v", back, err)
		}
	}
}

func TestTokenIsStoredAsItsSHA256(t *testing.T) {
	tok := NewToken()
	sum := sha256.Sum256([]byte(tok.Secret()))
	if got, want := tok.hash(), hex.EncodeToString(sum[:]); got != want {
		t.Errorf("hash = %s, want %s", got, want)
	}
}

func TestParseTokenRejects(t *testing.T) {
	good := NewToken().Secret()
	// The last character carries 2 unused bits (43 characters hold 258 bits
	// for 256): a non-canonical variant decodes to the same bytes but must
	// not be accepted.
	last := strings.IndexByte(base64URLAlphabet, good[42])
	nonCanonical := good[:42] + string(base64URLAlphabet[last^1])
	tests := map[string]string{
		"empty":           "",
		"short":           good[:42],
		"long":            good + "A",
		"standard base64": strings.NewReplacer("-", "+", "_", "/").Replace(good[:41]) + "+/",
		"padded":          good[:40] + "===",
		"space":           good[:42] + " ",
		"non-canonical":   nonCanonical,
	}
	for name, s := range tests {
		t.Run(name, func(t *testing.T) {
			if s == good {
				t.Skip("variant equals the token")
			}
			if _, err := ParseToken(s); !errors.Is(err, ErrUnknownToken) {
				t.Errorf("ParseToken(%q) = %v, want ErrUnknownToken", s, err)
			}
		})
	}
}

const base64URLAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// TestTokenNeverPrints: a token logged or formatted by mistake shows as
// [redacted], never its value.
func TestTokenNeverPrints(t *testing.T) {
	tok := NewToken()
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("oops", "token", tok, "struct", struct{ T Token }{tok})
	js, _ := json.Marshal(map[string]any{"token": tok})
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("token %v", tok), "%s": fmt.Sprintf("token %s", tok), "%+v": fmt.Sprintf("%+v", struct{ T Token }{tok}),
		"%#v": fmt.Sprintf("%#v", tok), "slog": logs.String(), "json": string(js),
	} {
		if strings.Contains(out, tok.Secret()) {
			t.Errorf("%s shows the token: %s", name, out)
		}
	}
}
