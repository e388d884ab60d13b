package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ageDuration is a duration flag that also takes whole days ("7d"),
// which time.ParseDuration does not: ages are said in days.
type ageDuration time.Duration

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *ageDuration) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseInt(days, 10, 64)
		if err != nil || n < 0 || n > int64(1<<62)/int64(24*time.Hour) {
			return fmt.Errorf("invalid age %q: use a number of days (7d) or a Go duration (72h)", s)
		}
		*a = ageDuration(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("invalid age %q: use a number of days (7d) or a Go duration (72h)", s)
	}
	*a = ageDuration(d)
	return nil
}
