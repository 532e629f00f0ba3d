// Package clock is the one way the suite reads the time. A type that needs
// the time has a Now field that tests may set and production leaves nil,
// and reads it through Now, which reads the wall clock for a nil field:
//
//	func (c *Cleaner) now() time.Time { return clock.Now(c.Now) }
//
// Its logger is the same idea, and the standard library's helper:
//
//	func (c *Cleaner) logger() *slog.Logger { return cmp.Or(c.Log, slog.Default()) }
package clock

import "time"

// Now returns now(), or the wall clock's time when now is nil.
func Now(now func() time.Time) time.Time {
	if now == nil {
		return time.Now()
	}
	return now()
}
