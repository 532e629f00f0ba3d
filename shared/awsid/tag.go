package awsid

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Tag is one key=value resource tag.
type Tag struct {
	Key, Value string
}

// Limits of user tags, the same for EC2, CloudWatch, SNS and Image Builder:
// characters, not bytes.
const (
	MaxTagKey   = 128
	MaxTagValue = 256
)

// ParseTag reads "key=value", trimming spaces around each. The rules are
// AWS's for user tags: the key is not empty and does not start with the
// reserved "aws:" prefix (in any case), the key is at most 128 characters
// and the value at most 256; the value may be empty. The value may hold
// "=": only the first one splits.
func ParseTag(s string) (Tag, error) {
	key, value, ok := strings.Cut(s, "=")
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	switch {
	case !ok:
		return Tag{}, fmt.Errorf("tag %q is not key=value", Clip(s, 80))
	case key == "":
		return Tag{}, fmt.Errorf("tag %q has an empty key", Clip(s, 80))
	case !utf8.ValidString(key) || !utf8.ValidString(value):
		return Tag{}, fmt.Errorf("tag %q is not valid UTF-8", Clip(s, 80))
	case strings.HasPrefix(strings.ToLower(key), "aws:"):
		return Tag{}, fmt.Errorf("tag %q uses the aws: prefix, which AWS reserves for its own tags", Clip(s, 80))
	case utf8.RuneCountInString(key) > MaxTagKey || utf8.RuneCountInString(value) > MaxTagValue:
		return Tag{}, fmt.Errorf("tag %q is longer than AWS allows (key %d, value %d characters)", Clip(s, 80), MaxTagKey, MaxTagValue)
	}
	return Tag{Key: key, Value: value}, nil
}

// String is the key=value form ParseTag reads; "" for the zero Tag.
func (t Tag) String() string {
	if t == (Tag{}) {
		return ""
	}
	return t.Key + "=" + t.Value
}

// IsZero reports whether t is no tag at all.
func (t Tag) IsZero() bool { return t == (Tag{}) }
