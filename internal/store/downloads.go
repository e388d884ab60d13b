package store

import (
	"context"
	"fmt"
	"strings"
)

// DownloadCount is a number of downloads of a project on a day.
type DownloadCount struct {
	ProjectID int64
	Day       Day
	Downloads int64
}

// LockDownloads takes the lock every writer of downloads holds until the
// end of its transaction (a row lock on PostgreSQL; SQLite's transactions
// already hold the database's write lock), and returns the window whose
// sums are kept. It is also the lock that lets one server at a time
// compute the critical projects.
func (tx *Tx) LockDownloads(ctx context.Context) (WindowState, error) {
	query := `SELECT first_day, last_day FROM download_window_state WHERE id = 1`
	if tx.dialect == Postgres {
		query += ` FOR UPDATE`
	}
	var w WindowState
	if err := tx.db.QueryRowContext(ctx, query).Scan(&w.First, &w.Last); err != nil {
		return w, fmt.Errorf("store: lock downloads: %w", err)
	}
	return w, nil
}

// AddDownloads adds counts to the downloads of their projects and days,
// and to the window sums when a day is inside the window. Counts of
// projects deleted meanwhile are dropped. It returns how many (project,
// day) counts were kept.
func (tx *Tx) AddDownloads(ctx context.Context, counts []DownloadCount) (int, error) {
	w, err := tx.LockDownloads(ctx)
	if err != nil {
		return 0, err
	}
	rows := sumCounts(counts)
	kept, err := tx.upsertDayCounts(ctx, "downloads", "project_id", "projects", rows)
	if err != nil {
		return kept, err
	}
	windowSums := map[int64]int64{}
	var windowKeys []int64
	for _, r := range rows {
		if w.Contains(r.Day) {
			if _, ok := windowSums[r.ProjectID]; !ok {
				windowKeys = append(windowKeys, r.ProjectID)
			}
			windowSums[r.ProjectID] += r.Downloads
		}
	}
	for start := 0; start < len(windowKeys); start += downloadBatch {
		batch := windowKeys[start:min(start+downloadBatch, len(windowKeys))]
		rows := make([]DownloadCount, len(batch))
		for i, id := range batch {
			rows[i] = DownloadCount{ProjectID: id, Downloads: windowSums[id]}
		}
		values, args := downloadValues(tx.dialect, rows, false)
		if _, err := tx.db.ExecContext(ctx, `INSERT INTO download_window (project_id, downloads)
			SELECT column1, column2 FROM (VALUES `+values+`) AS v WHERE column1 IN (SELECT id FROM projects)
			ON CONFLICT (project_id) DO UPDATE SET downloads = download_window.downloads + excluded.downloads`, args...); err != nil {
			return kept, fmt.Errorf("store: add downloads to window: %w", err)
		}
	}
	return kept, nil
}

// sumCounts folds counts into one per project and day, in the order they
// first appear, leaving out zeros: an upsert may not touch a row twice.
func sumCounts(counts []DownloadCount) []DownloadCount {
	type key struct {
		project int64
		day     Day
	}
	at := make(map[key]int, len(counts))
	var rows []DownloadCount
	for _, c := range counts {
		if c.Downloads == 0 {
			continue
		}
		k := key{c.ProjectID, c.Day}
		if i, ok := at[k]; ok {
			rows[i].Downloads += c.Downloads
			continue
		}
		at[k] = len(rows)
		rows = append(rows, DownloadCount{ProjectID: c.ProjectID, Day: c.Day, Downloads: c.Downloads})
	}
	return rows
}

// upsertDayCounts adds rows, one per project and day, to table (downloads
// or upstream_downloads, whose project column idColumn refers to parent),
// in batches of downloadBatch; counts of projects no longer in parent are
// dropped. It returns how many rows were kept.
func (tx *Tx) upsertDayCounts(ctx context.Context, table, idColumn, parent string, rows []DownloadCount) (int, error) {
	kept := 0
	for start := 0; start < len(rows); start += downloadBatch {
		values, args := downloadValues(tx.dialect, rows[start:min(start+downloadBatch, len(rows))], true)
		res, err := tx.db.ExecContext(ctx, `INSERT INTO `+table+` (`+idColumn+`, day, downloads)
			SELECT column1, column2, column3 FROM (VALUES `+values+`) AS v WHERE column1 IN (SELECT id FROM `+parent+`)
			ON CONFLICT (`+idColumn+`, day) DO UPDATE SET downloads = `+table+`.downloads + excluded.downloads`, args...)
		if err != nil {
			return kept, fmt.Errorf("store: add %s: %w", table, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return kept, fmt.Errorf("store: add %s: %w", table, err)
		}
		kept += int(n)
	}
	return kept, nil
}

// downloadBatch is how many rows one statement of AddDownloads writes.
const downloadBatch = 300

// downloadValues writes the VALUES rows (project, day, downloads), or
// (project, downloads) without days, and their arguments. PostgreSQL
// needs the types of VALUES spelled out; SQLite binds positional `?` ten
// times faster than numbered casts (modernc.org/sqlite).
func downloadValues(d Dialect, rows []DownloadCount, withDay bool) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 3*len(rows))
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		switch {
		case d == SQLite && withDay:
			b.WriteString("(?, ?, ?)")
		case d == SQLite:
			b.WriteString("(?, ?)")
		case withDay:
			fmt.Fprintf(&b, "(CAST($%d AS BIGINT), CAST($%d AS INTEGER), CAST($%d AS BIGINT))", n+1, n+2, n+3)
		default:
			fmt.Fprintf(&b, "(CAST($%d AS BIGINT), CAST($%d AS BIGINT))", n+1, n+2)
		}
		if withDay {
			args = append(args, r.ProjectID, int64(r.Day), r.Downloads)
		} else {
			args = append(args, r.ProjectID, r.Downloads)
		}
	}
	return b.String(), args
}

// ProjectDownloads sums a project's downloads over the days [first, last].
func (q q) ProjectDownloads(ctx context.Context, projectID int64, first, last Day) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(downloads), 0) FROM downloads
		WHERE project_id = $1 AND day >= $2 AND day <= $3`, projectID, int64(first), int64(last)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: project downloads: %w", err)
	}
	return n, nil
}
