package store_test

import (
	"testing"
	"time"

	"cheeseshop/internal/store"
)

func TestDayOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), "2026-11-24"},
		{time.Date(2026, 11, 24, 23, 59, 59, 999, time.UTC), "2026-11-24"},
		{time.Date(2026, 11, 24, 23, 30, 0, 0, time.FixedZone("UTC-2", -2*3600)), "2026-11-25"},
		{time.Date(1969, 12, 31, 12, 0, 0, 0, time.UTC), "1969-12-31"},
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "1970-01-01"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			d := store.DayOf(tc.in)
			if d.String() != tc.want {
				t.Fatalf("DayOf(%v) = %s, want %s", tc.in, d, tc.want)
			}
			back, err := store.ParseDay(tc.want)
			if err != nil || back != d {
				t.Fatalf("ParseDay(%s) = %d, %v; want %d", tc.want, back, err, d)
			}
		})
	}
	if _, err := store.ParseDay("24/11/2026"); err == nil {
		t.Fatal("ParseDay accepted 24/11/2026")
	}
}
