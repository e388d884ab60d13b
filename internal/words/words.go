// Package words writes durations and times the way cheeseshop tells them
// to people, in emails and on pages: "15 minutes", "24 hours", "7 days",
// "2025-03-01 12:00 UTC". One function each, so that every message says
// the same thing the same way.
package words

import (
	"fmt"
	"time"
)

const day = 24 * time.Hour

// Duration writes d in the largest unit that reads well, rounding up so
// that a wait is never told shorter than it is: seconds below a minute,
// minutes below an hour, hours below two days ("24 hours"), then days
// ("7 days", "2.5 days").
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return count(int64(d/time.Second), "second")
	case d < time.Hour:
		return count(int64((d+time.Minute-1)/time.Minute), "minute")
	case d < 2*day:
		return count(int64((d+time.Hour-1)/time.Hour), "hour")
	case d%day == 0:
		return count(int64(d/day), "day")
	}
	return fmt.Sprintf("%.1f days", d.Hours()/24)
}

// count writes n units, singular for one.
func count(n int64, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// Time writes t to the minute, in UTC, saying so.
func Time(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
