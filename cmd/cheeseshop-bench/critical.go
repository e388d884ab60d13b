package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/mandate"
	"cheeseshop/internal/pep"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// CriticalCmd measures the daily computation of the critical projects at
// PyPI's scale: every project of the list with a count on every day of
// the window, the counts following the project's download rank.
type CriticalCmd struct {
	Database    string `required:"" help:"Database URL (sqlite:///path or postgres://…). Loaded unless it holds a load of the same parameters and --reuse is given."`
	ProjectsTSV string `name:"projects-tsv" default:"/work/shared/data/pypi-projects.tsv.gz" type:"path" help:"Gzipped TSV with a header: name, version, month, rank among the 15,000 most downloaded (empty for the others)."`
	Projects    int    `default:"0" help:"Take only the first N projects of the list (0: all)."`
	Days        int    `default:"180" help:"Window of the computation, in days. Days+1 days are loaded before the as-of day."`
	AsOf        string `name:"as-of" default:"2026-12-01" help:"Day D of the first computation (YYYY-MM-DD); the daily one is as of D+1."`
	Peak        int64  `default:"10000000" help:"Downloads per day of the project of rank 1; rank r gets max(1, round(peak/r))."`
	Reuse       bool   `help:"Reuse a database already loaded with the same parameters (skip the load)."`
	Runs        int    `default:"1" help:"Measure the sequence (first computation, new day, daily computation, dry run) this many times."`
	DryRun      bool   `name:"dry-run" default:"true" negatable:"" help:"Also measure a dry run as of D+1."`
	Explain     bool   `help:"Print the plans of the computation's main queries (PostgreSQL: with ANALYZE of their SELECT parts)."`
}

// criticalMeta records a finished load, so that --reuse knows what the
// database holds.
type criticalMeta struct {
	AsOf                  store.Day
	Days, Projects, Peak  int64
	Rows                  int64
	LoadSeconds           float64
	LoadedAt, Description string
}

// Run implements the command.
func (c *CriticalCmd) Run(e *env) error {
	if c.Days < 1 {
		return errors.New("--days must be positive")
	}
	if c.Runs < 1 {
		return errors.New("--runs must be positive")
	}
	asOf, err := store.ParseDay(c.AsOf)
	if err != nil {
		return fmt.Errorf("--as-of: %w", err)
	}
	out := e.stdout
	st, err := store.Open(e.ctx, c.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Migrate(e.ctx); err != nil {
		return err
	}
	projects, err := readRankedProjects(c.ProjectsTSV, c.Projects, float64(c.Peak))
	if err != nil {
		return err
	}
	first, last := asOf-store.Day(c.Days)-1, asOf-1
	want := criticalMeta{AsOf: asOf, Days: int64(c.Days), Projects: int64(len(projects)), Peak: c.Peak,
		Rows: int64(len(projects)) * int64(last-first+1)}
	fmt.Fprintf(out, "critical: %s, %d projects × %d days (%s..%s) = %d daily counts; peak %d/day\n",
		st.Dialect(), want.Projects, last-first+1, first, last, want.Rows, c.Peak)

	meta, err := readCriticalMeta(e.ctx, st.DB())
	switch {
	case err != nil:
		return err
	case meta != nil && !c.Reuse:
		return errors.New("the database is already loaded: pass --reuse, or give a fresh database")
	case meta != nil && (meta.AsOf != want.AsOf || meta.Days != want.Days || meta.Projects != want.Projects || meta.Peak != want.Peak):
		return fmt.Errorf("the database holds another load (as of %s, %d days, %d projects, peak %d): give a fresh database",
			meta.AsOf, meta.Days, meta.Projects, meta.Peak)
	case meta != nil:
		fmt.Fprintf(out, "load: reused (loaded %s in %.0f s)\n", meta.LoadedAt, meta.LoadSeconds)
	default:
		n, err := st.CountProjects(e.ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("the database has %d projects and no finished load: give a fresh database", n)
		}
		start := time.Now()
		err = storetest.LoadDownloads(e.ctx, st, &storetest.BulkDownloads{Projects: projects, First: first, Last: last,
			Progress: func(step string, rows, total int64) {
				fmt.Fprintf(out, "load: %6.0f s  %5.1f%%  %s\n", time.Since(start).Seconds(), 100*float64(rows)/float64(max(total, 1)), step)
			}})
		if err != nil {
			return err
		}
		want.LoadSeconds = time.Since(start).Seconds()
		want.LoadedAt = time.Now().UTC().Format(time.RFC3339)
		if err := writeCriticalMeta(e.ctx, st.DB(), &want); err != nil {
			return err
		}
		fmt.Fprintf(out, "load: %d rows in %.0f s (%.0f rows/s)\n", want.Rows, want.LoadSeconds, float64(want.Rows)/want.LoadSeconds)
	}
	if err := printDatabaseSize(e.ctx, out, st, c.Database); err != nil {
		return err
	}
	if c.Explain {
		if err := explainCritical(e.ctx, out, st, asOf-store.Day(c.Days), asOf-1); err != nil {
			return err
		}
	}
	daily, err := dailyByID(e.ctx, st, projects)
	if err != nil {
		return err
	}
	svc, err := mandate.New(st, mandate.Config{BaseURL: "https://bench.invalid", WindowDays: c.Days},
		slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		return err
	}
	for run := 1; run <= c.Runs; run++ {
		if c.Runs > 1 {
			fmt.Fprintf(out, "run %d of %d\n", run, c.Runs)
		}
		if err := c.measure(e.ctx, out, st, svc, asOf, daily); err != nil {
			return err
		}
	}
	return nil
}

// measure resets the computation (and removes the counts of day D and
// later), then times the first computation as of D, the writing of day
// D's counts, the daily computation as of D+1 and a dry run.
func (c *CriticalCmd) measure(ctx context.Context, out io.Writer, st *store.Store, svc *mandate.Service, asOf store.Day, daily map[int64]int64) error {
	start := time.Now()
	if _, err := st.DB().ExecContext(ctx, `DELETE FROM downloads WHERE day >= $1`, int64(asOf)); err != nil {
		return fmt.Errorf("reset: %w", err)
	}
	if err := storetest.ResetCritical(ctx, st); err != nil {
		return err
	}
	fmt.Fprintf(out, "reset: %.1f s\n", time.Since(start).Seconds())

	compute := func(label string, day store.Day, opts mandate.ComputeOptions) error {
		start := time.Now()
		res, err := svc.Compute(ctx, day, opts)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%s as of %s (window %s..%s): %.2f s; projects %d, N %d, cutoff %d, qualified %d, designated %d\n",
			label, day, res.First, res.Last, time.Since(start).Seconds(), res.Projects, res.TopN, res.Cutoff, res.Qualified, len(res.Designated))
		return nil
	}
	if err := compute("(a) first computation (sums the whole window: without a kept window)", asOf, mandate.ComputeOptions{}); err != nil {
		return err
	}

	counts := make([]store.DownloadCount, 0, len(daily))
	for id, n := range daily {
		counts = append(counts, store.DownloadCount{ProjectID: id, Day: asOf, Downloads: storetest.DailyCount(n, id, asOf)})
	}
	start = time.Now()
	var kept int
	if err := st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		kept, err = tx.AddDownloads(ctx, counts)
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(out, "new day %s: %d counts written with AddDownloads in one transaction: %.2f s\n", asOf, kept, time.Since(start).Seconds())

	if err := compute("(b) daily computation (window shifted by one day)", asOf+1, mandate.ComputeOptions{}); err != nil {
		return err
	}
	if c.DryRun {
		if err := compute("(c) dry run (same window)", asOf+1, mandate.ComputeOptions{DryRun: true}); err != nil {
			return err
		}
	}
	return nil
}

// readRankedProjects reads the TSV: every name (at most limit when
// positive) with its normalized and ultranormalized forms, and its daily
// downloads max(1, round(peak/rank)); the names without a rank get the
// ranks after the largest given, in file order. A name whose
// ultranormalized form repeats an earlier one's (PyPI has such projects
// from before it refused them) keeps its names, with a suffix on the
// ultranormalized column only, which no real name can produce; a name
// whose normalized form repeats an earlier one's is skipped.
func readRankedProjects(path string, limit int, peak float64) ([]storetest.BulkProject, error) {
	var (
		projects   []storetest.BulkProject
		ranks      []int64
		maxRank    int64
		ultra      = map[string]bool{}
		normalized = map[string]bool{}
	)
	err := readTSV(path, func(line int, cols []string) (bool, error) {
		if limit > 0 && len(projects) == limit {
			return false, nil
		}
		name := strings.TrimSpace(cols[0])
		if name == "" {
			return true, nil
		}
		var rank int64
		if len(cols) >= 4 && strings.TrimSpace(cols[3]) != "" {
			var err error
			if rank, err = strconv.ParseInt(strings.TrimSpace(cols[3]), 10, 64); err != nil || rank < 1 {
				return false, fmt.Errorf("%s:%d: bad rank %q", path, line, cols[3])
			}
			maxRank = max(maxRank, rank)
		}
		p := storetest.BulkProject{Name: name, NormalizedName: pep.NormalizeName(name), UltraName: pep.UltraNormalizeName(name)}
		if normalized[p.NormalizedName] {
			return true, nil // the same project again
		}
		normalized[p.NormalizedName] = true
		if ultra[p.UltraName] {
			p.UltraName += "~" + strconv.Itoa(len(projects))
		}
		ultra[p.UltraName] = true
		projects = append(projects, p)
		ranks = append(ranks, rank)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	next := maxRank
	for i := range projects {
		if ranks[i] == 0 {
			next++
			ranks[i] = next
		}
		projects[i].Daily = max(1, int64(math.Round(peak/float64(ranks[i]))))
	}
	return projects, nil
}

// dailyByID maps the ids of the loaded projects to their daily downloads.
func dailyByID(ctx context.Context, st *store.Store, projects []storetest.BulkProject) (map[int64]int64, error) {
	byName := make(map[string]int64, len(projects))
	for _, p := range projects {
		byName[p.NormalizedName] = p.Daily
	}
	rows, err := st.DB().QueryContext(ctx, `SELECT id, normalized_name FROM projects`)
	if err != nil {
		return nil, fmt.Errorf("projects: %w", err)
	}
	defer rows.Close()
	out := make(map[int64]int64, len(projects))
	for rows.Next() {
		var id int64
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, fmt.Errorf("projects: %w", err)
		}
		n, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("project %q is not in the list", name)
		}
		out[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("projects: %w", err)
	}
	return out, nil
}

// readCriticalMeta returns the finished load recorded in the database,
// nil when there is none.
func readCriticalMeta(ctx context.Context, db *sql.DB) (*criticalMeta, error) {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS bench_critical (as_of BIGINT NOT NULL, days BIGINT NOT NULL,
		projects BIGINT NOT NULL, peak BIGINT NOT NULL, load_rows BIGINT NOT NULL, load_seconds DOUBLE PRECISION NOT NULL, loaded_at TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("bench_critical: %w", err)
	}
	var m criticalMeta
	err := db.QueryRowContext(ctx, `SELECT as_of, days, projects, peak, load_rows, load_seconds, loaded_at FROM bench_critical`).
		Scan(&m.AsOf, &m.Days, &m.Projects, &m.Peak, &m.Rows, &m.LoadSeconds, &m.LoadedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("bench_critical: %w", err)
	}
	return &m, nil
}

func writeCriticalMeta(ctx context.Context, db *sql.DB, m *criticalMeta) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO bench_critical (as_of, days, projects, peak, load_rows, load_seconds, loaded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, int64(m.AsOf), m.Days, m.Projects, m.Peak, m.Rows, m.LoadSeconds, m.LoadedAt); err != nil {
		return fmt.Errorf("bench_critical: %w", err)
	}
	return nil
}

// printDatabaseSize prints the size of the database on disk: SQLite's
// file and its WAL, PostgreSQL's database and the downloads table with
// its indexes.
func printDatabaseSize(ctx context.Context, out io.Writer, st *store.Store, dbURL string) error {
	const gb = 1 << 30
	if st.Dialect() == store.SQLite {
		path := strings.TrimPrefix(dbURL, "sqlite://")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		var total int64
		var parts []string
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(path + suffix); err == nil {
				total += fi.Size()
				parts = append(parts, fmt.Sprintf("%s%s %.2f GiB", path, suffix, float64(fi.Size())/gb))
			}
		}
		fmt.Fprintf(out, "size on disk: %.2f GiB (%s)\n", float64(total)/gb, strings.Join(parts, ", "))
		return nil
	}
	var db, heap, pkey, day int64
	if err := st.DB().QueryRowContext(ctx, `SELECT pg_database_size(current_database()), pg_relation_size('downloads'),
		pg_relation_size('downloads_pkey'), pg_relation_size('downloads_day')`).Scan(&db, &heap, &pkey, &day); err != nil {
		return fmt.Errorf("database size: %w", err)
	}
	fmt.Fprintf(out, "size on disk: database %.2f GiB; downloads: table %.2f GiB, primary key %.2f GiB, downloads_day %.2f GiB\n",
		float64(db)/gb, float64(heap)/gb, float64(pkey)/gb, float64(day)/gb)
	return nil
}

// explainCritical prints the plans of the statements of a computation
// over the window [first, last], copied from internal/store/download_window.go:
// the rebuild of the sums, the shift by one day, the cutoff. On
// PostgreSQL the SELECT parts run under EXPLAIN ANALYZE; what the writes
// cost beyond them (the rebuild's INSERT of every sum, its foreign key)
// is not in these plans: EXPLAIN (ANALYZE, BUFFERS) the INSERT in a
// rolled-back transaction for that.
func explainCritical(ctx context.Context, out io.Writer, st *store.Store, first, last store.Day) error {
	stmts := []struct {
		what, sql string
		args      []any
	}{
		{"rebuild", `SELECT project_id, SUM(downloads) FROM downloads WHERE +day >= $1 AND +day <= $2 GROUP BY project_id
			ORDER BY project_id`,
			[]any{int64(first), int64(last)}},
		{"shift by a day", `SELECT project_id, SUM(downloads) * $2 FROM downloads WHERE day = $1 GROUP BY project_id`,
			[]any{int64(last), int64(1)}},
		{"cutoff", `SELECT downloads FROM download_window WHERE downloads > 0 ORDER BY downloads DESC LIMIT 1 OFFSET $1`,
			[]any{int64(8863)}},
	}
	prefix := "EXPLAIN QUERY PLAN "
	if st.Dialect() == store.Postgres {
		prefix = "EXPLAIN (ANALYZE, BUFFERS) "
	}
	for _, s := range stmts {
		start := time.Now()
		rows, err := st.DB().QueryContext(ctx, prefix+s.sql, s.args...)
		if err != nil {
			return fmt.Errorf("explain %s: %w", s.what, err)
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return fmt.Errorf("explain %s: %w", s.what, err)
		}
		fmt.Fprintf(out, "plan of the %s:\n", s.what)
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("explain %s: %w", s.what, err)
			}
			// SQLite: id, parent, notused, detail; PostgreSQL: one line.
			fmt.Fprintf(out, "  %v\n", vals[len(vals)-1])
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("explain %s: %w", s.what, err)
		}
		fmt.Fprintf(out, "  (%.2f s)\n", time.Since(start).Seconds())
	}
	return nil
}
