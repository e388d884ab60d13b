package store

import (
	"context"
	"fmt"
)

// AddUpstreamDownloads adds counts of downloads of proxied projects
// (DownloadCount.ProjectID is the upstream_projects id) to their days.
// Counts of proxied projects removed meanwhile are dropped. It returns
// how many (project, day) counts were kept. They have no window sums:
// proxied projects have no maintainers of this index to mandate, so they
// never enter the computation of critical projects.
func (tx *Tx) AddUpstreamDownloads(ctx context.Context, counts []DownloadCount) (int, error) {
	// One row per (project, day): an upsert may not touch a row twice.
	type key struct {
		project int64
		day     Day
	}
	sums := make(map[key]int64, len(counts))
	var keys []key
	for _, c := range counts {
		if c.Downloads == 0 {
			continue
		}
		k := key{c.ProjectID, c.Day}
		if _, ok := sums[k]; !ok {
			keys = append(keys, k)
		}
		sums[k] += c.Downloads
	}
	kept := 0
	for start := 0; start < len(keys); start += downloadBatch {
		batch := keys[start:min(start+downloadBatch, len(keys))]
		rows := make([]DownloadCount, len(batch))
		for i, k := range batch {
			rows[i] = DownloadCount{ProjectID: k.project, Day: k.day, Downloads: sums[k]}
		}
		values, args := downloadValues(tx.dialect, rows, true)
		res, err := tx.db.ExecContext(ctx, `INSERT INTO upstream_downloads (upstream_project_id, day, downloads)
			SELECT column1, column2, column3 FROM (VALUES `+values+`) AS v WHERE column1 IN (SELECT id FROM upstream_projects)
			ON CONFLICT (upstream_project_id, day) DO UPDATE SET downloads = upstream_downloads.downloads + excluded.downloads`, args...)
		if err != nil {
			return kept, fmt.Errorf("store: add upstream downloads: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return kept, fmt.Errorf("store: add upstream downloads: %w", err)
		}
		kept += int(n)
	}
	return kept, nil
}

// UpstreamProjectDownloads sums a proxied project's downloads over the
// days [first, last].
func (q q) UpstreamProjectDownloads(ctx context.Context, upstreamProjectID int64, first, last Day) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(downloads), 0) FROM upstream_downloads
		WHERE upstream_project_id = $1 AND day >= $2 AND day <= $3`, upstreamProjectID, int64(first), int64(last)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: upstream project downloads: %w", err)
	}
	return n, nil
}
