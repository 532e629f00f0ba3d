package diskalarm

import (
	"errors"
	"fmt"
	"testing"
)

// A bad input is an *InputError that is ErrBadInput, and keeps its cause.
func TestInputError(t *testing.T) {
	cause := errors.New("not an ARN")
	tests := []struct {
		name, reason string
		err          error
	}{
		{"formatted", "the alarm prefix is empty", ValidatePrefix("")},
		{"of a cause", "not an ARN", badInputOf(cause)},
		{"wrapped", "the name pattern is empty (use \"*\" for every named instance)", fmt.Errorf("hostname: %w", ValidatePattern(""))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var bad *InputError
			if !errors.As(tt.err, &bad) || bad.Reason != tt.reason || !errors.Is(tt.err, ErrBadInput) {
				t.Errorf("error %v: InputError %+v, want reason %q and ErrBadInput", tt.err, bad, tt.reason)
			}
		})
	}
	if err := badInputOf(cause); !errors.Is(err, cause) || err.Error() != "bad input: not an ARN" {
		t.Errorf("badInputOf(%v) = %q, want it to wrap the cause after \"bad input: \"", cause, err)
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"no error", nil, false},
		{"a bad input", fmt.Errorf("request: %w", badInput("no cursor")), false},
		{"a read", errors.New("describe instances: throttled"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %t, want %t", tt.err, got, tt.want)
			}
		})
	}
}
