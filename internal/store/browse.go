package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Listing is a project as the public lists show it (search results, a
// user's projects, recently updated projects).
type Listing struct {
	ID         int64
	Name       string
	Normalized string
	LastSerial int64
	CreatedAt  time.Time
	Role       string // the user's role, in UserProjects only
}

const listingColumns = `p.id, p.name, p.normalized_name, p.last_serial, p.created_at`

func scanListings(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, withRole bool) ([]Listing, error) {
	defer rows.Close()
	var out []Listing
	for rows.Next() {
		var l Listing
		var created int64
		dest := []any{&l.ID, &l.Name, &l.Normalized, &l.LastSerial, &created}
		if withRole {
			dest = append(dest, &l.Role)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		l.CreatedAt = fromMicros(created)
		out = append(out, l)
	}
	return out, rows.Err()
}

// escapeLike escapes the wildcards of a LIKE pattern (with ESCAPE '\').
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// searchWindow is how many names, in order, SearchProjects reads on
// SQLite before it turns to the trigram index (q.searchWindow; tests
// make it smaller): a query found in very
// many names ("django") fills its page within them, sooner than the
// index would give all its matches to sort. Measured at PyPI's 886k
// names (BenchmarkSearchProjects), a walk of 10,000 names costs a few
// milliseconds, what the index takes for a few thousand matches.
const searchWindow = 10_000

// SearchProjects returns the listed projects (published, not
// quarantined) whose normalized name contains normalized (wildcards taken
// literally) but is not equal to it, ordered by normalized name, skipping
// offset of them and returning at most limit. The exact match is
// ProjectByName's.
//
// A query of three characters or more is looked up in a trigram index
// (SQLite: the FTS5 table project_names; PostgreSQL: a pg_trgm GIN index
// on normalized_name), so that a query that matches few names costs what
// it matches, not a read of every project; the matches are then sorted.
// PostgreSQL's planner chooses between the index and a walk of the names
// in order; on SQLite the first searchWindow names are walked first, and
// the index is read only when they do not fill the page. A shorter query
// has no trigram: it walks the unique index on normalized_name in order
// and stops at its page, which such a query (one or two characters, found
// in very many names) reaches soon.
func (q q) SearchProjects(ctx context.Context, normalized string, offset, limit int) ([]Listing, error) {
	const match = `p.normalized_name LIKE $1 ESCAPE '\' AND p.normalized_name <> $2 AND ` + listed + `
		ORDER BY p.normalized_name LIMIT $3 OFFSET $4`
	args := []any{"%" + escapeLike(normalized) + "%", normalized, limit, offset}
	if q.dialect != SQLite || utf8.RuneCountInString(normalized) < 3 {
		return q.searchProjects(ctx, `SELECT `+listingColumns+` FROM projects p WHERE `+match, args...)
	}
	if offset+limit <= q.searchWindow {
		// The first matches among the first names are the first of all.
		out, err := q.searchProjects(ctx, `SELECT `+listingColumns+` FROM projects p
			WHERE p.normalized_name <= (SELECT normalized_name FROM projects ORDER BY normalized_name
				LIMIT 1 OFFSET `+strconv.Itoa(q.searchWindow-1)+`) AND `+match, args...)
		if err != nil || len(out) == limit {
			return out, err
		}
	}
	// The phrase matches the names that hold its trigrams in a row: a
	// superset of the LIKE's matches (it folds the case of every letter,
	// LIKE only ASCII's), which the LIKE then checks. CROSS JOIN keeps the
	// index as the outer loop.
	return q.searchProjects(ctx, `SELECT `+listingColumns+` FROM project_names f CROSS JOIN projects p ON p.id = f.rowid
		WHERE f.project_names MATCH $5 AND `+match,
		append(args, `"`+strings.ReplaceAll(normalized, `"`, `""`)+`"`)...)
}

// searchProjects runs a query of SearchProjects.
func (q q) searchProjects(ctx context.Context, query string, args ...any) ([]Listing, error) {
	rows, err := q.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: search projects: %w", err)
	}
	out, err := scanListings(rows, false)
	if err != nil {
		return nil, fmt.Errorf("store: search projects: %w", err)
	}
	return out, nil
}

// RecentProjects returns the limit listed projects (published, not
// quarantined) changed last.
func (q q) RecentProjects(ctx context.Context, limit int) ([]Listing, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+listingColumns+` FROM projects p WHERE `+listed+`
		ORDER BY p.last_serial DESC, p.id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("store: recent projects: %w", err)
	}
	out, err := scanListings(rows, false)
	if err != nil {
		return nil, fmt.Errorf("store: recent projects: %w", err)
	}
	return out, nil
}

// UserProjects returns the listed projects (published, not quarantined)
// a user holds a role on, by normalized name.
//
// It returns at most limit projects from offset (by name), so that a
// user with very many projects costs a page no more than any other.
func (q q) UserProjects(ctx context.Context, userID int64, limit, offset int) ([]Listing, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+listingColumns+`, r.role FROM roles r JOIN projects p ON p.id = r.project_id
		WHERE r.user_id = $1 AND `+listed+` ORDER BY p.normalized_name LIMIT $2 OFFSET $3`, userID, limit, offset)
	if err != nil {
		return nil, fmt.Errorf("store: projects of user %d: %w", userID, err)
	}
	out, err := scanListings(rows, true)
	if err != nil {
		return nil, fmt.Errorf("store: projects of user %d: %w", userID, err)
	}
	return out, nil
}

// CountUserProjects returns how many listed projects a user holds a
// role on.
func (q q) CountUserProjects(ctx context.Context, userID int64) (int, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM roles r JOIN projects p ON p.id = r.project_id
		WHERE r.user_id = $1 AND `+listed, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count projects of user %d: %w", userID, err)
	}
	return n, nil
}

// ReleaseBrief is what a list needs of a release to pick a project's
// latest version: a few short columns, never the metadata or the
// description (a list shows one summary per project: ReleaseSummaries).
type ReleaseBrief struct {
	ID           int64
	ProjectID    int64
	Version      string
	IsPrerelease bool
	Yanked       bool
	HasFiles     bool
	CreatedAt    time.Time
}

// MaxListedSummary is the most characters of a summary a list reads: the
// limit of a summary at upload. Rows stored before that limit are cut.
const MaxListedSummary = 512

// idList returns "$1, $2, …" for the ids and the arguments.
func idList(ids []int64) (string, []any) {
	var ph strings.Builder
	args := make([]any, len(ids))
	for i, id := range ids {
		if i > 0 {
			ph.WriteString(", ")
		}
		ph.WriteString("$" + strconv.Itoa(i+1))
		args[i] = id
	}
	return ph.String(), args
}

// ReleasesOf returns the releases of the projects, by project id, in no
// particular order (PEP 440 ordering is the caller's business).
func (q q) ReleasesOf(ctx context.Context, projectIDs []int64) (map[int64][]ReleaseBrief, error) {
	out := make(map[int64][]ReleaseBrief, len(projectIDs))
	if len(projectIDs) == 0 {
		return out, nil
	}
	ph, args := idList(projectIDs)
	rows, err := q.db.QueryContext(ctx, `SELECT r.id, r.project_id, r.version, r.is_prerelease, r.yanked,
		EXISTS (SELECT 1 FROM files f WHERE f.release_id = r.id), r.created_at
		FROM releases r WHERE r.project_id IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: releases of projects: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var b ReleaseBrief
		var created int64
		if err := rows.Scan(&b.ID, &b.ProjectID, &b.Version, &b.IsPrerelease, &b.Yanked, &b.HasFiles, &created); err != nil {
			return nil, fmt.Errorf("store: releases of projects: %w", err)
		}
		b.CreatedAt = fromMicros(created)
		out[b.ProjectID] = append(out[b.ProjectID], b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: releases of projects: %w", err)
	}
	return out, nil
}

// ReleaseSummaries returns the summaries of the releases, by release id,
// each cut to MaxListedSummary characters by the database.
func (q q) ReleaseSummaries(ctx context.Context, releaseIDs []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(releaseIDs))
	if len(releaseIDs) == 0 {
		return out, nil
	}
	ph, args := idList(releaseIDs)
	rows, err := q.db.QueryContext(ctx, `SELECT id, SUBSTR(summary, 1, `+strconv.Itoa(MaxListedSummary)+`)
		FROM releases WHERE id IN (`+ph+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: release summaries: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var summary string
		if err := rows.Scan(&id, &summary); err != nil {
			return nil, fmt.Errorf("store: release summaries: %w", err)
		}
		out[id] = summary
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: release summaries: %w", err)
	}
	return out, nil
}
