package upstream_test

import (
	"testing"
	"time"

	"cheeseshop/internal/upstream"
)

func TestVisible(t *testing.T) {
	week := 7 * 24 * time.Hour
	old := upstream.File{Filename: "old", UploadTime: now.Add(-week - time.Second)}
	edge := upstream.File{Filename: "edge", UploadTime: now.Add(-week)}
	young := upstream.File{Filename: "young", UploadTime: now.Add(-week + time.Second)}
	newer := upstream.File{Filename: "newer", UploadTime: now.Add(-time.Hour)}
	unknown := upstream.File{Filename: "unknown"}
	files := []upstream.File{old, edge, young, newer, unknown}
	names := func(fs []upstream.File) (s []string) {
		for _, f := range fs {
			s = append(s, f.Filename)
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		minAge time.Duration
		exempt bool
		want   []string
		next   time.Time
	}{
		{"off", 0, false, []string{"old", "edge", "young", "newer", "unknown"}, time.Time{}},
		{"a week", week, false, []string{"old", "edge"}, now.Add(time.Second)},
		{"exempt", week, true, []string{"old", "edge", "young", "newer", "unknown"}, time.Time{}},
		{"an hour", time.Hour, false, []string{"old", "edge", "young", "newer"}, time.Time{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := names(upstream.Visible(files, now, tc.minAge, tc.exempt))
			if len(got) != len(tc.want) {
				t.Fatalf("visible %q, want %q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("visible %q, want %q", got, tc.want)
				}
			}
			if next := upstream.NextVisible(files, now, tc.minAge, tc.exempt); !next.Equal(tc.next) {
				t.Errorf("NextVisible = %s, want %s", next, tc.next)
			}
		})
	}
	// A second later the young file shows: NextVisible was right.
	if !upstream.FileVisible(young, now.Add(time.Second), week, false) || upstream.FileVisible(unknown, now.Add(100*week), week, false) {
		t.Error("FileVisible")
	}
}
