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
	return tx.upsertDayCounts(ctx, "upstream_downloads", "upstream_project_id", "upstream_projects", sumCounts(counts))
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
