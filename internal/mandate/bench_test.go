package mandate_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"testing"
	"time"

	"cheeseshop/internal/mandate"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// benchAsOf is the day of the benchmarks' first computation.
var benchAsOf = store.DayOf(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))

// zipfProjects returns n projects whose downloads per day follow their
// rank (peak/rank, at least 1), the ranks shuffled against the ids.
func zipfProjects(n int, peak float64) []storetest.BulkProject {
	out := make([]storetest.BulkProject, n)
	for i := range out {
		// 7919 is prime and divides no n used here: a permutation.
		rank := (i*7919)%n + 1
		name := fmt.Sprintf("zipf-%07d", i)
		out[i] = storetest.BulkProject{Name: name, NormalizedName: name, UltraName: fmt.Sprintf("z1pf%07d", i),
			Daily: max(1, int64(math.Round(peak/float64(rank))))}
	}
	return out
}

// loadZipf loads n projects with a count every day of [first, last] and
// returns each project's daily downloads by id.
func loadZipf(tb testing.TB, st *store.Store, n int, first, last store.Day) map[int64]int64 {
	tb.Helper()
	ctx := context.Background()
	projects := zipfProjects(n, 1e7)
	start := time.Now()
	storetest.Must(tb, storetest.LoadDownloads(ctx, st, &storetest.BulkDownloads{Projects: projects, First: first, Last: last}))
	tb.Logf("%s: %d projects × %d days loaded in %s", st.Dialect(), n, last-first+1, time.Since(start).Round(time.Millisecond))
	byName := make(map[string]int64, n)
	for _, p := range projects {
		byName[p.NormalizedName] = p.Daily
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT id, normalized_name FROM projects`)
	storetest.Must(tb, err)
	defer rows.Close()
	daily := make(map[int64]int64, n)
	for rows.Next() {
		var id int64
		var name string
		storetest.Must(tb, rows.Scan(&id, &name))
		daily[id] = byName[name]
	}
	storetest.Must(tb, rows.Err())
	return daily
}

func newBenchService(tb testing.TB, st *store.Store, cfg mandate.Config) *mandate.Service {
	tb.Helper()
	cfg.BaseURL = "https://index.example"
	svc, err := mandate.New(st, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	storetest.Must(tb, err)
	return svc
}

// TestLoadDownloads checks the bulk loader of the benchmarks (small: it
// runs with every test run): every project has DailyCount on every day,
// the indexes are back, and a computation on the loaded counts designates
// what the rule computed here says, again after ResetCritical.
func TestLoadDownloads(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		const n, window = 450, 5
		first, last := benchAsOf-window-1, benchAsOf
		daily := loadZipf(t, st, n, first, last)
		counts := map[int64]map[store.Day]int64{}
		for id, dl := range daily {
			counts[id] = map[store.Day]int64{}
			for d := first; d <= last; d++ {
				counts[id][d] = storetest.DailyCount(dl, id, d)
			}
		}
		var rows, sum int64
		storetest.Must(t, st.DB().QueryRowContext(ctx, `SELECT COUNT(*), SUM(downloads) FROM downloads`).Scan(&rows, &sum))
		var want int64
		for _, days := range counts {
			for _, c := range days {
				want += c
			}
		}
		if rows != n*int64(last-first+1) || sum != want {
			t.Fatalf("%d rows, %d downloads; want %d rows, %d downloads", rows, sum, n*int64(last-first+1), want)
		}
		for id, dl := range daily {
			got, err := st.ProjectDownloads(ctx, id, last, last)
			storetest.Must(t, err)
			if w := storetest.DailyCount(dl, id, last); got != w {
				t.Fatalf("project %d on %s: %d downloads, want %d", id, last, got, w)
			}
			break
		}
		svc := newBenchService(t, st, mandate.Config{WindowDays: window})
		for round := range 2 {
			for _, asOf := range []store.Day{benchAsOf, benchAsOf + 1} {
				res, err := svc.Compute(ctx, asOf, mandate.ComputeOptions{})
				storetest.Must(t, err)
				wantSet := expectCritical(counts, n, 1, window, asOf)
				if res.Projects != n || res.TopN != 5 || res.Qualified != int64(len(wantSet)) {
					t.Fatalf("round %d as of %s: %d projects, top %d, %d qualified; want %d, 5, %d",
						round, asOf, res.Projects, res.TopN, res.Qualified, n, len(wantSet))
				}
				for _, p := range res.Designated {
					if !wantSet[p.ID] {
						t.Fatalf("round %d as of %s: %s designated, not in the top", round, asOf, p.Name)
					}
				}
			}
			storetest.Must(t, storetest.ResetCritical(ctx, st))
		}
	})
}

// benchProjects is the size of the benchmarks' index: it loads in seconds.
const benchProjects = 20000

// benchEach runs fn as a sub-benchmark per database, on benchProjects
// projects with a count every day of the window of benchAsOf, the day
// before it and benchAsOf itself (182 days).
func benchEach(b *testing.B, fn func(b *testing.B, st *store.Store, svc *mandate.Service)) {
	// Benchmarks, one dialect after the other: not storetest.EachDialect,
	// whose parallel subtests would measure each other.
	for _, d := range storetest.Dialects {
		b.Run(fmt.Sprintf("%s/projects=%dk", d, benchProjects/1000), func(b *testing.B) {
			st := storetest.Open(b, d)
			loadZipf(b, st, benchProjects, benchAsOf-mandate.DefaultWindowDays-1, benchAsOf)
			fn(b, st, newBenchService(b, st, mandate.Config{}))
		})
	}
}

// BenchmarkComputeRebuild measures the first computation: no window yet,
// so the sums are made from the 180 days of counts of every project (and
// the top 1% designated). Each iteration forgets the previous one.
//
//	go test -run='^$' -bench=Compute ./internal/mandate/
func BenchmarkComputeRebuild(b *testing.B) {
	benchEach(b, func(b *testing.B, st *store.Store, svc *mandate.Service) {
		ctx := context.Background()
		for b.Loop() {
			b.StopTimer()
			storetest.Must(b, storetest.ResetCritical(ctx, st))
			b.StartTimer()
			res, err := svc.Compute(ctx, benchAsOf, mandate.ComputeOptions{})
			storetest.Must(b, err)
			if res.Newly != res.Qualified || res.Newly == 0 {
				b.Fatalf("%d designated, %d qualified", res.Newly, res.Qualified)
			}
		}
	})
}

// BenchmarkComputeDaily measures the daily computation: the window moves
// by one day, so the sums change by the day that leaves and the day that
// enters. Iterations alternate between benchAsOf+1 and benchAsOf, each a
// shift by one day (forward, then back), after a first computation.
func BenchmarkComputeDaily(b *testing.B) {
	benchEach(b, func(b *testing.B, st *store.Store, svc *mandate.Service) {
		ctx := context.Background()
		_, err := svc.Compute(ctx, benchAsOf, mandate.ComputeOptions{})
		storetest.Must(b, err)
		asOf := benchAsOf
		for b.Loop() {
			if asOf == benchAsOf {
				asOf++
			} else {
				asOf--
			}
			res, err := svc.Compute(ctx, asOf, mandate.ComputeOptions{})
			storetest.Must(b, err)
			if res.Qualified == 0 {
				b.Fatal("no project qualified")
			}
		}
	})
}
