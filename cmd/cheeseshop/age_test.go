package main

import (
	"testing"
	"time"
)

func TestAgeDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true}, {"7d", 7 * 24 * time.Hour, true}, {"72h", 72 * time.Hour, true}, {"1h30m", 90 * time.Minute, true},
		{" 2d ", 48 * time.Hour, true}, {"-1d", 0, false}, {"-1h", 0, false}, {"d", 0, false}, {"1.5d", 0, false},
		{"7days", 0, false}, {"", 0, false},
	} {
		var a ageDuration
		err := a.UnmarshalText([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && time.Duration(a) != tc.want) {
			t.Errorf("%q: %v, %v; want %v, ok %v", tc.in, time.Duration(a), err, tc.want, tc.ok)
		}
	}
}
