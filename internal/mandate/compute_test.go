package mandate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/mail"
	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// fixture is a store with projects and a clock.
type fixture struct {
	t     *testing.T
	st    *store.Store
	svc   *mandate.Service
	clock *clocktest.Clock
	ids   []int64
	names map[int64]string
}

func newFixture(t *testing.T, st *store.Store, cfg mandate.Config, projects int) *fixture {
	t.Helper()
	f := &fixture{t: t, st: st, clock: clocktest.New(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)), names: map[int64]string{}}
	if cfg.BaseURL == "" {
		cfg.BaseURL = "https://index.example"
	}
	svc, err := mandate.New(st, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), f.clock.Now)
	storetest.Must(t, err)
	f.svc = svc
	ctx := context.Background()
	storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
		for i := range projects {
			name := fmt.Sprintf("proj%05d", i)
			p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: f.clock.Now()}
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			f.ids = append(f.ids, p.ID)
			f.names[p.ID] = name
		}
		return nil
	}))
	return f
}

func (f *fixture) add(counts []store.DownloadCount) {
	f.t.Helper()
	storetest.Must(f.t, f.st.InTx(context.Background(), func(tx *store.Tx) error {
		_, err := tx.AddDownloads(context.Background(), counts)
		return err
	}))
}

func (f *fixture) compute(asOf store.Day, opts mandate.ComputeOptions) *mandate.Result {
	f.t.Helper()
	res, err := f.svc.Compute(context.Background(), asOf, opts)
	storetest.Must(f.t, err)
	return res
}

// critical returns the names of the critical projects, sorted.
func (f *fixture) critical() []string {
	f.t.Helper()
	ps, err := f.st.CriticalProjects(context.Background())
	storetest.Must(f.t, err)
	var names []string
	for _, p := range ps {
		names = append(names, p.Project.Name)
	}
	sort.Strings(names)
	return names
}

// expectCritical is the rule, computed here without the store: the top
// ceil(percent × projects) by downloads over [asOf-window, asOf-1], ties
// with the N-th included, never a project without downloads.
func expectCritical(daily map[int64]map[store.Day]int64, projects int, percent float64, window int, asOf store.Day) map[int64]bool {
	sums := map[int64]int64{}
	for id, days := range daily {
		for d, n := range days {
			if d >= asOf-store.Day(window) && d < asOf {
				sums[id] += n
			}
		}
	}
	var positive []int64
	for _, n := range sums {
		if n > 0 {
			positive = append(positive, n)
		}
	}
	slices.Sort(positive)
	slices.Reverse(positive)
	topN := int(math.Ceil(float64(projects) * percent / 100))
	if len(positive) == 0 || topN == 0 {
		return map[int64]bool{}
	}
	cut := positive[min(topN, len(positive))-1]
	out := map[int64]bool{}
	for id, n := range sums {
		if n > 0 && n >= cut {
			out[id] = true
		}
	}
	return out
}

// TestComputeZipf generates a Zipf-like distribution of downloads over
// several months, then designates the critical projects on consecutive
// days (the window shifting) with late imports of past days in between,
// and compares each time with the set computed independently here.
func TestComputeZipf(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		const projects, days = 3000, 240
		f := newFixture(t, st, mandate.Config{}, projects)
		rng := rand.New(rand.NewPCG(5, 24))
		start := store.DayOf(f.clock.Now()) - days
		// The project of rank r downloads on a day with probability
		// min(1, 40/r), about 3000/r^1.1 times: heavy head, long tail.
		daily := map[int64]map[store.Day]int64{}
		var counts []store.DownloadCount
		perm := rng.Perm(projects) // ranks are not in id order
		for i, id := range f.ids {
			r := float64(perm[i] + 1)
			daily[id] = map[store.Day]int64{}
			for d := start; d < start+days+3; d++ {
				if rng.Float64() >= math.Min(1, 40/r) {
					continue
				}
				n := int64(3000 / math.Pow(r, 1.1) * (0.5 + rng.Float64()))
				if n == 0 {
					continue
				}
				daily[id][d] += n
				counts = append(counts, store.DownloadCount{ProjectID: id, Day: d, Downloads: n})
			}
		}
		f.add(counts)
		t.Logf("%d daily rows", len(counts))

		asOf := start + days - 2
		marked := map[int64]bool{}
		for step := range 3 {
			if step > 0 {
				// Late counts of days inside, at the edge of, and
				// outside the window, then the next day's computation.
				var late []store.DownloadCount
				for _, id := range f.ids[:50] {
					for _, d := range []store.Day{asOf - 180, asOf - 181, asOf - 1, asOf, asOf - 90} {
						n := int64(rng.IntN(400))
						daily[id][d] += n
						late = append(late, store.DownloadCount{ProjectID: id, Day: d, Downloads: n})
					}
				}
				f.add(late)
				asOf++
			}
			want := expectCritical(daily, projects, 1, 180, asOf)
			for id := range want {
				marked[id] = true // critical is permanent
			}
			res := f.compute(asOf, mandate.ComputeOptions{Trigger: mandate.TriggerAdmin})
			if res.TopN != 30 || res.Projects != projects {
				t.Fatalf("as of %s: top N %d of %d projects, want 30 of %d", asOf, res.TopN, res.Projects, projects)
			}
			if res.Qualified != int64(len(want)) {
				t.Errorf("as of %s: %d projects qualified, want %d", asOf, res.Qualified, len(want))
			}
			var wantNames []string
			for id := range marked {
				wantNames = append(wantNames, f.names[id])
			}
			sort.Strings(wantNames)
			if got := f.critical(); !slices.Equal(got, wantNames) {
				t.Fatalf("as of %s: critical projects\n got %v\nwant %v", asOf, got, wantNames)
			}
		}
	})
}

// TestComputeEdges checks the rules one by one on small hand-made data.
func TestComputeEdges(t *testing.T) {
	t.Parallel()
	asOf, _ := store.ParseDay("2026-06-01")
	type count struct {
		project int // index into the fixture's projects
		day     store.Day
		n       int64
	}
	for _, tc := range []struct {
		name     string
		projects int
		percent  float64
		counts   []count
		want     []int // indexes of critical projects
	}{
		{"ties at the cut are all in", 200, 1, []count{{0, asOf - 1, 100}, {1, asOf - 1, 50}, {2, asOf - 2, 50}, {3, asOf - 1, 49}}, []int{0, 1, 2}},
		{"first day of the window counts", 100, 1, []count{{0, asOf - 180, 10}, {1, asOf - 181, 1000}}, []int{0}},
		{"the day before the window does not", 100, 1, []count{{1, asOf - 181, 1000}}, nil},
		{"yesterday counts, today does not", 100, 2, []count{{0, asOf - 1, 5}, {1, asOf, 1000}, {2, asOf - 1, 4}}, []int{0, 2}},
		{"zero downloads never qualify", 10, 50, []count{{0, asOf - 3, 2}, {1, asOf - 3, 1}}, []int{0, 1}},
		{"no downloads at all", 10, 100, nil, nil},
		{"ceil: 1% of 101 projects is 2", 101, 1, []count{{0, asOf - 1, 3}, {1, asOf - 1, 2}, {2, asOf - 1, 1}}, []int{0, 1}},
		{"a day with downloads cancelling nothing", 100, 1, []count{{0, asOf - 1, 1}}, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, store.SQLite)
			f := newFixture(t, st, mandate.Config{Percent: tc.percent}, tc.projects)
			var counts []store.DownloadCount
			for _, c := range tc.counts {
				counts = append(counts, store.DownloadCount{ProjectID: f.ids[c.project], Day: c.day, Downloads: c.n})
			}
			f.add(counts)
			f.compute(asOf, mandate.ComputeOptions{})
			var want []string
			for _, i := range tc.want {
				want = append(want, fmt.Sprintf("proj%05d", i))
			}
			if got := f.critical(); !slices.Equal(got, want) {
				t.Fatalf("critical = %v, want %v", got, want)
			}
		})
	}
}

// TestComputePermanentAndOnce checks that a project whose downloads
// collapse stays critical with its first date, that the daily job runs
// once per day whatever the number of servers, and that a dry run
// changes nothing.
func TestComputePermanentAndOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		outbox := filepath.Join(t.TempDir(), "outbox")
		f := newFixture(t, st, mandate.Config{RunAt: 3 * time.Hour, Mailer: &mail.Outbox{Dir: outbox, From: "index@example.org"}}, 100)
		now := time.Date(2026, 6, 1, 2, 0, 0, 0, time.UTC)
		f.clock.Set(now)
		day := store.DayOf(now)
		// An Owner with 2FA and a Maintainer without, on project 0.
		for i, name := range []string{"olivia", "max"} {
			u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "x", CreatedAt: now}
			storetest.Must(t, st.CreateUser(ctx, u))
			role := store.RoleOwner
			if i == 1 {
				role = store.RoleMaintainer
			}
			storetest.Must(t, st.AddRole(ctx, f.ids[0], u.ID, role, now))
			if i == 0 {
				storetest.Must(t, st.SetTOTP(ctx, u.ID, "sealed", 0, now))
			}
		}
		f.add([]store.DownloadCount{{ProjectID: f.ids[0], Day: day - 1, Downloads: 1000}, {ProjectID: f.ids[1], Day: day - 1, Downloads: 10}})

		// Before 03:00 the job is not due.
		res, next, err := f.svc.RunDue(ctx)
		storetest.Must(t, err)
		if res != nil || !next.Equal(day.Time().Add(3*time.Hour)) {
			t.Fatalf("at 02:00: ran %v, next %v; want nothing until 03:00", res, next)
		}
		// A dry run reports without designating.
		dry := f.compute(day, mandate.ComputeOptions{DryRun: true})
		if len(dry.Designated) != 1 || dry.Designated[0].Name != "proj00000" || len(f.critical()) != 0 {
			t.Fatalf("dry run designated %v (critical now: %v), want proj00000 reported and nothing stored", dry.Designated, f.critical())
		}

		// At 03:00 two servers run the job at once: one computes, the
		// other skips.
		f.clock.Set(day.Time().Add(3 * time.Hour))
		var wg sync.WaitGroup
		results := make([]*mandate.Result, 2)
		for i := range results {
			wg.Go(func() {
				r, _, err := f.svc.RunDue(ctx)
				if err != nil {
					t.Error(err)
				}
				results[i] = r
			})
		}
		wg.Wait()
		if results[0] == nil || results[1] == nil || results[0].Skipped == results[1].Skipped {
			t.Fatalf("two servers at 03:00: %+v and %+v, want one computation and one skip", results[0], results[1])
		}
		if got := f.critical(); !slices.Equal(got, []string{"proj00000"}) {
			t.Fatalf("critical = %v, want [proj00000]", got)
		}
		p, err := st.ProjectByID(ctx, f.ids[0])
		storetest.Must(t, err)
		since := p.CriticalSince
		if !since.Equal(day.Time().Add(3 * time.Hour)) {
			t.Fatalf("critical since %v, want %v", since, day.Time().Add(3*time.Hour))
		}
		// Both collaborators were told; the one without 2FA how to set it up.
		msgs, err := mail.ReadOutbox(outbox)
		storetest.Must(t, err)
		if len(msgs) != 2 {
			t.Fatalf("%d notices, want 2", len(msgs))
		}
		for _, m := range msgs {
			if m.Subject != "proj00000 is now a critical project" {
				t.Errorf("notice subject %q", m.Subject)
			}
			setup := strings.Contains(m.Text, "https://index.example/manage/account/two-factor/")
			if (m.To == "max@example.org") != setup {
				t.Errorf("notice to %s: set-up link present = %v\n%s", m.To, setup, m.Text)
			}
		}

		// Downloads collapse; another project overtakes. proj00000 stays
		// critical, with its first date, and nobody is told again.
		for d := store.Day(1); d <= 200; d++ {
			f.clock.Set((day + d).Time().Add(4 * time.Hour))
			if d == 1 {
				f.add([]store.DownloadCount{{ProjectID: f.ids[2], Day: day, Downloads: 5000}})
			}
			if _, _, err := f.svc.RunDue(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.critical(); !slices.Equal(got, []string{"proj00000", "proj00002"}) {
			t.Fatalf("after 200 days: critical = %v, want [proj00000 proj00002]", got)
		}
		p, _ = st.ProjectByID(ctx, f.ids[0])
		if !p.CriticalSince.Equal(since) {
			t.Fatalf("critical since moved from %v to %v", since, p.CriticalSince)
		}
		last, err := st.LastCriticalRun(ctx)
		storetest.Must(t, err)
		if last.Qualified != 0 || last.Cutoff != 0 {
			t.Fatalf("last run: %+v, want nothing qualified once every download left the window", last)
		}
		if msgs, _ := mail.ReadOutbox(outbox); len(msgs) != 2 {
			t.Fatalf("%d notices in all, want 2 (proj00002 has no collaborators, and proj00000's were told once)", len(msgs))
		}
	})
}

func TestTopN(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		projects int64
		percent  float64
		want     int64
	}{
		{0, 1, 0}, {1, 1, 1}, {100, 1, 1}, {101, 1, 2}, {150, 1, 2}, {886000, 1, 8860}, {886001, 1, 8861},
		{1000, 0.1, 1}, {1000, 0.3, 3}, {1001, 0.3, 4}, {10, 100, 10}, {7, 33.333333, 3},
	} {
		if got := mandate.TopN(tc.projects, tc.percent); got != tc.want {
			t.Errorf("TopN(%d, %g) = %d, want %d", tc.projects, tc.percent, got, tc.want)
		}
	}
}

// TestStartWindow checks that the window started at a server's start (or
// before an import) sums the counts written before it, that every count
// written after it keeps its sums exact, inside and outside it, and that
// it is left alone once it exists.
func TestStartWindow(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := newFixture(t, st, mandate.Config{Percent: 10}, 60)
		today := store.DayOf(f.clock.Now())
		rng := rand.New(rand.NewPCG(7, 11))
		daily := map[int64]map[store.Day]int64{}
		batch := func() []store.DownloadCount {
			var counts []store.DownloadCount
			for _, id := range f.ids {
				if daily[id] == nil {
					daily[id] = map[store.Day]int64{}
				}
				for range 5 {
					d := today - 200 + store.Day(rng.IntN(203)) // before, inside and after the window
					n := int64(rng.IntN(1000))
					daily[id][d] += n
					counts = append(counts, store.DownloadCount{ProjectID: id, Day: d, Downloads: n})
				}
			}
			return counts
		}
		state := func() store.WindowState {
			var w store.WindowState
			storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) (err error) { w, err = tx.LockDownloads(ctx); return err }))
			return w
		}
		f.add(batch()) // counts written before any window
		if w := state(); !w.Empty() {
			t.Fatalf("a window %v exists before StartWindow", w)
		}
		storetest.Must(t, f.svc.StartWindow(ctx))
		first, last := f.svc.Window(today)
		if w := state(); w != (store.WindowState{First: first, Last: last}) {
			t.Fatalf("window %v, want %s..%s", w, first, last)
		}
		f.add(batch()) // counts written into the window: they keep its sums
		for _, id := range f.ids {
			var want int64
			for d, n := range daily[id] {
				if d >= first && d <= last {
					want += n
				}
			}
			got, err := st.WindowDownloads(ctx, id)
			storetest.Must(t, err)
			if got != want {
				t.Fatalf("project %s: window sum %d, want %d", f.names[id], got, want)
			}
		}
		// A window that exists stays where it is.
		f.clock.Add(5 * 24 * time.Hour)
		storetest.Must(t, f.svc.StartWindow(ctx))
		if w := state(); w != (store.WindowState{First: first, Last: last}) {
			t.Fatalf("StartWindow moved an existing window to %v", w)
		}
		// The computation shifts it by the days elapsed and designates
		// the same projects as the rule.
		asOf := today + 5
		f.compute(asOf, mandate.ComputeOptions{})
		var want []string
		for id := range expectCritical(daily, len(f.ids), 10, mandate.DefaultWindowDays, asOf) {
			want = append(want, f.names[id])
		}
		sort.Strings(want)
		if got := f.critical(); len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("critical = %v, want %v", got, want)
		}
	})
}
