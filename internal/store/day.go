package store

import (
	"fmt"
	"time"
)

// Day is a UTC calendar day, counted from 1970-01-01 (day 0).
type Day int64

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	s := t.Unix()
	d := s / 86400
	if s < 0 && s%86400 != 0 {
		d--
	}
	return Day(d)
}

// ParseDay parses a day written 2006-01-02.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("not a date (want YYYY-MM-DD): %q", s)
	}
	return DayOf(t), nil
}

// Time returns the start of the day, UTC.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String writes the day as 2006-01-02.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }
