package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/web"
)

// TestReadinessCache: a part's result stands for ReadinessTTL, success or
// failure, and is probed again after it; a failed probe is logged once,
// and the check names the first part that fails.
func TestReadinessCache(t *testing.T) {
	clock := clocktest.New(time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC))
	var log bytes.Buffer
	var runs map[string]int
	fail := map[string]error{}
	part := func(name string) *probe {
		return &probe{part: name, log: slog.New(slog.NewTextHandler(&log, nil)), now: clock.Now,
			run: func(ctx context.Context) error {
				if _, ok := ctx.Deadline(); !ok {
					t.Errorf("the %s probe has no deadline", name)
				}
				runs[name]++
				return fail[name]
			}}
	}
	r := &readiness{parts: []*probe{part("database"), part("storage")}}
	steps := []struct {
		name     string
		advance  time.Duration
		fail     map[string]error
		wantPart string // "" ready
		wantRuns map[string]int
		wantLogs int
	}{
		{name: "first check probes both", wantRuns: map[string]int{"database": 1, "storage": 1}},
		{name: "within the TTL nothing is probed", advance: ReadinessTTL - time.Millisecond, fail: map[string]error{"storage": errors.New("down")},
			wantRuns: map[string]int{}},
		{name: "after it both are", advance: time.Millisecond, fail: map[string]error{"storage": errors.New("down")}, wantPart: "storage",
			wantRuns: map[string]int{"database": 1, "storage": 1}, wantLogs: 1},
		{name: "a failure stands for the TTL too", advance: time.Second, wantPart: "storage", wantRuns: map[string]int{}},
		{name: "and is probed again after it", advance: ReadinessTTL, fail: map[string]error{"database": errors.New("locked")}, wantPart: "database",
			wantRuns: map[string]int{"database": 1}, wantLogs: 1},
	}
	for _, st := range steps {
		clock.Add(st.advance)
		runs, fail = map[string]int{}, st.fail
		log.Reset()
		err := r.check()
		part := ""
		if u, ok := errors.AsType[*web.Unready](err); ok {
			part = u.Part
		} else if err != nil {
			t.Fatalf("%s: %v is no *web.Unready", st.name, err)
		}
		if part != st.wantPart || len(runs) != len(st.wantRuns) || runs["database"] != st.wantRuns["database"] || runs["storage"] != st.wantRuns["storage"] {
			t.Errorf("%s: not ready %q after probes %v; want %q after %v", st.name, part, runs, st.wantPart, st.wantRuns)
		}
		if n := strings.Count(log.String(), `msg="not ready"`); n != st.wantLogs {
			t.Errorf("%s: %d failed probes logged, want %d:\n%s", st.name, n, st.wantLogs, log.String())
		}
	}
}
