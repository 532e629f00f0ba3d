package clock

import (
	"testing"
	"time"
)

func TestNowReadsTheGivenClock(t *testing.T) {
	fixed := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if got := Now(func() time.Time { return fixed }); !got.Equal(fixed) {
		t.Errorf("Now(fixed) = %v, want %v", got, fixed)
	}
}

func TestNowWithoutAClockReadsTheWallClock(t *testing.T) {
	before := time.Now()
	got := Now(nil)
	after := time.Now()
	if got.Before(before) || got.After(after) {
		t.Errorf("Now(nil) = %v, want between %v and %v", got, before, after)
	}
}
