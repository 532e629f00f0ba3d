package diskalarm

import (
	"errors"
	"fmt"
)

// ErrBadInput marks a request, event or setting that no retry can fix.
// Every such error is an *InputError, and errors.Is(err, ErrBadInput)
// holds for it.
var ErrBadInput = errors.New("bad input")

// InputError is a request, event or setting that no retry can fix, as
// fs.PathError is a failed operation on a path: Reason says what is wrong
// (without "bad input: "), so that a caller naming the input itself, such
// as a variable, says only the reason; Err is the cause beneath it, if any.
type InputError struct {
	Reason string
	Err    error
}

func (e *InputError) Error() string { return ErrBadInput.Error() + ": " + e.Reason }

// Is reports ErrBadInput.
func (e *InputError) Is(target error) bool { return target == ErrBadInput }

func (e *InputError) Unwrap() error { return e.Err }

// Retryable reports whether a retry can help a run that returned err: it
// failed, and not on a bad input.
func Retryable(err error) bool { return err != nil && !errors.Is(err, ErrBadInput) }

// badInput is an InputError whose reason is formatted.
func badInput(format string, args ...any) error {
	return &InputError{Reason: fmt.Sprintf(format, args...)}
}

// badInputOf is an InputError whose reason is err.
func badInputOf(err error) error { return &InputError{Reason: err.Error(), Err: err} }
