package approval

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
)

// tokenBytes is the token's randomness: 256 bits, twice the 128 the link
// needs, so guessing one is out of reach whatever the request rate.
const tokenBytes = 32

var tokenEncoding = base64.RawURLEncoding.Strict()

// Token is the secret in an approval link. Only its SHA-256 hash is stored,
// so the table alone cannot approve anything. It prints as [redacted] (fmt
// and slog alike); Secret is the one way to the value, for the link itself.
type Token struct{ secret string }

// NewToken returns a fresh random token.
func NewToken() Token {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails: crypto/rand.Read aborts the program instead
	return Token{secret: tokenEncoding.EncodeToString(b)}
}

// ParseToken accepts exactly what NewToken makes: a canonical base64url
// encoding of 32 bytes. Anything else wraps ErrUnknownToken, as an unknown
// token does, so a malformed and an unknown token are answered alike.
func ParseToken(s string) (Token, error) {
	if len(s) != tokenEncoding.EncodedLen(tokenBytes) {
		return Token{}, fmt.Errorf("%w: length %d", ErrUnknownToken, len(s))
	}
	b, err := tokenEncoding.DecodeString(s)
	if err != nil || len(b) != tokenBytes {
		return Token{}, fmt.Errorf("%w: not base64url", ErrUnknownToken)
	}
	return Token{secret: s}, nil
}

// Secret returns the token's value, to put in a link. Never log it.
func (t Token) Secret() string { return t.secret }

// IsZero reports whether t is the zero Token.
func (t Token) IsZero() bool { return t.secret == "" }

// hash is the hex SHA-256 of the token: the stored form. A plain hash is
// enough (no salt or slow hash): the token has 256 random bits, so there is
// no dictionary to run.
func (t Token) hash() string {
	sum := sha256.Sum256([]byte(t.secret))
	return hex.EncodeToString(sum[:])
}

func (t Token) String() string               { return "[redacted]" }
func (t Token) GoString() string             { return "approval.Token([redacted])" }
func (t Token) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (t Token) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
