package words

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0 seconds"},
		{time.Second, "1 second"},
		{59 * time.Second, "59 seconds"},
		{time.Minute, "1 minute"},
		{time.Minute + time.Second, "2 minutes"},
		{15 * time.Minute, "15 minutes"},
		{time.Hour, "1 hour"},
		{time.Hour + time.Second, "2 hours"},
		{24 * time.Hour, "24 hours"},
		{36 * time.Hour, "36 hours"},
		{48 * time.Hour, "2 days"},
		{7 * 24 * time.Hour, "7 days"},
		{30 * 24 * time.Hour, "30 days"},
		{60 * time.Hour, "2.5 days"},
	} {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%s) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestTime(t *testing.T) {
	at := time.Date(2025, 3, 1, 13, 4, 59, 0, time.FixedZone("CET", 3600))
	if got, want := Time(at), "2025-03-01 12:04 UTC"; got != want {
		t.Errorf("Time = %q, want %q", got, want)
	}
}
