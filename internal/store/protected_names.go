package store

import (
	"context"
	"fmt"
)

// ProtectedName is a name that new projects must not imitate, with its
// popularity rank (1: the most downloaded).
type ProtectedName struct {
	Name   string
	Rank   int64
	Source string // ProtectedImported, ProtectedOwn or ProtectedUpstream
}

// Sources of protected names.
const (
	// ProtectedImported is the operator's imported list.
	ProtectedImported = "import"
	// ProtectedOwn is this index's own most-downloaded projects.
	ProtectedOwn = "own"
	// ProtectedUpstream is the upstreams' projects most downloaded
	// through this index's proxy.
	ProtectedUpstream = "upstream"
)

// ReplaceProtectedNames makes names the imported list of protected names,
// replacing the previous one. Run it in a transaction: readers then see
// the old list or the new one, never a mix.
func (q q) ReplaceProtectedNames(ctx context.Context, names []ProtectedName) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM protected_names`); err != nil {
		return fmt.Errorf("store: replace protected names: %w", err)
	}
	for _, n := range names {
		// A list may hold two spellings of a name: the better rank wins.
		if _, err := q.db.ExecContext(ctx, `INSERT INTO protected_names (name, rank, source) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET rank = excluded.rank WHERE excluded.rank < protected_names.rank`,
			n.Name, n.Rank, ProtectedImported); err != nil {
			return fmt.Errorf("store: replace protected names: %w", err)
		}
	}
	return nil
}

// ProtectedNames returns the imported list of protected names, by rank.
func (q q) ProtectedNames(ctx context.Context) ([]ProtectedName, error) {
	return queryAll(ctx, q.db, "protected names", func(row scanner) (ProtectedName, error) {
		var n ProtectedName
		err := row.Scan(&n.Name, &n.Rank, &n.Source)
		return n, err
	}, `SELECT name, rank, source FROM protected_names ORDER BY rank, name`)
}

// TopDownloaded returns this index's n most-downloaded projects in the
// download window of the last critical computation (the ranking that
// decides critical projects), with their rank, most downloaded first.
// Projects without downloads are not ranked.
func (q q) TopDownloaded(ctx context.Context, n int) ([]ProtectedName, error) {
	names, err := queryAll(ctx, q.db, "top downloaded", func(row scanner) (ProtectedName, error) {
		p := ProtectedName{Source: ProtectedOwn}
		err := row.Scan(&p.Name)
		return p, err
	}, `SELECT p.normalized_name FROM download_window w JOIN projects p ON p.id = w.project_id
		WHERE w.downloads > 0 ORDER BY w.downloads DESC, p.id LIMIT $1`, n)
	for i := range names {
		names[i].Rank = int64(i + 1)
	}
	return names, err
}

// TopDownloadedUpstream returns the n proxied projects most downloaded
// through this index (upstream_downloads) over the same days as
// TopDownloaded (the window of the last critical computation), with
// their rank, most downloaded first: what the organisation installs from
// the upstreams. None before a first computation; projects without
// downloads are not ranked.
func (q q) TopDownloadedUpstream(ctx context.Context, n int) ([]ProtectedName, error) {
	names, err := queryAll(ctx, q.db, "top downloaded upstream", func(row scanner) (ProtectedName, error) {
		p := ProtectedName{Source: ProtectedUpstream}
		err := row.Scan(&p.Name)
		return p, err
	}, `SELECT up.normalized_name
		FROM download_window_state s
		JOIN upstream_downloads d ON d.day BETWEEN s.first_day AND s.last_day
		JOIN upstream_projects up ON up.id = d.upstream_project_id
		WHERE s.id = 1
		GROUP BY up.id, up.normalized_name
		HAVING SUM(d.downloads) > 0
		ORDER BY SUM(d.downloads) DESC, up.id LIMIT $1`, n)
	for i := range names {
		names[i].Rank = int64(i + 1)
	}
	return names, err
}
