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

// searchWindow is how many names, in order, SearchProjects walks for the
// names that contain the query (q.searchWindow; tests make it smaller)
// before it turns to the trigram index: a query found inside very many
// names ("python") fills its page within them, sooner than the index
// would give all its matches to sort. Measured at PyPI's 886k names
// (BenchmarkSearchProjects), a walk of 10,000 names costs a few
// milliseconds, what the index takes for a few thousand matches; a query
// whose page is not within them matches fewer than about
// 886k×page/10,000 names, what the index then reads.
const searchWindow = 10_000

// SearchMinInside is the shortest query SearchProjects looks for inside
// names (a trigram); a shorter one finds only the names that start with
// it.
const SearchMinInside = 3

// prefixEnd returns the least string above every string that starts with
// prefix, in the order of code points (UTF-8's bytes sort the same):
// prefix with its last character raised by one, or "" when there is none
// (prefix is "", or made of the last code point).
func prefixEnd(prefix string) string {
	r := []rune(prefix)
	for i := len(r) - 1; i >= 0; i-- {
		switch {
		case r[i] == 0xD7FF: // the surrogates are no characters
			r[i] = 0xE000
		case r[i] < utf8.MaxRune:
			r[i]++
		default:
			continue
		}
		return string(r[:i+1])
	}
	return ""
}

// SearchProjects returns the listed projects (published, not
// quarantined) whose normalized name starts with normalized, by name,
// then, for a query of SearchMinInside characters or more, those that
// contain it elsewhere (wildcards taken literally), by name; never the
// name equal to it (ProjectByName's). It skips offset of them and returns
// at most limit.
//
// Every part reads an index, never every project (886k on PyPI): the
// names that start with the query are a range of the unique index on
// normalized_name, read up to offset+limit. Those that contain it are
// looked for first among the first searchWindow names in order (on
// SQLite, unless the trigram index holds few names for the query: those
// are then taken whole), and otherwise in a trigram index (SQLite: the FTS5 table project_names;
// PostgreSQL: a pg_trgm GIN index on normalized_name), whose matches are
// then sorted. The ranges assume an order of bytes (SQLite's BINARY, a C
// or C.UTF-8 collation on PostgreSQL).
func (q q) SearchProjects(ctx context.Context, normalized string, offset, limit int) ([]Listing, error) {
	// $1 and $2 bound the names that start with the query, a range that
	// the index reads and stops at; with no upper bound (the query is ""
	// or ends in bytes 0xff) the range is open.
	// $3 checks each name of the range: under a linguistic collation
	// (PostgreSQL's en_US, which ignores '-' at first) the range may hold
	// names that do not start with the query.
	end := prefixEnd(normalized)
	startsWith := `p.normalized_name > $1 AND p.normalized_name < $2 AND p.normalized_name LIKE $3 ESCAPE '\'`
	if end == "" {
		startsWith = `p.normalized_name > $1 AND $2 = '' AND p.normalized_name LIKE $3 ESCAPE '\'`
	}
	prefix := escapeLike(normalized) + "%"
	out, err := q.searchProjects(ctx, `SELECT `+listingColumns+` FROM projects p WHERE `+startsWith+` AND `+listed+`
		ORDER BY p.normalized_name LIMIT $4 OFFSET $5`, normalized, end, prefix, limit, offset)
	if err != nil || len(out) == limit || utf8.RuneCountInString(normalized) < SearchMinInside {
		return out, err
	}
	// The names that contain the query come after all those that start
	// with it: skip what is left of offset once those are counted (at
	// most offset of them are read).
	inside := 0
	if len(out) == 0 && offset > 0 {
		var before int
		if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM projects p WHERE `+startsWith+` AND `+listed+`
			LIMIT $4) AS s`, normalized, end, prefix, offset).Scan(&before); err != nil {
			return nil, fmt.Errorf("store: search projects: %w", err)
		}
		inside = offset - before
	}
	limit -= len(out)
	// Not a range (name < $2 OR name >= end): SQLite would read the name
	// index for each side of the OR.
	match := `p.normalized_name LIKE $1 ESCAPE '\' AND SUBSTR(p.normalized_name, 1, $3) <> $2 AND ` + listed
	args := []any{"%" + escapeLike(normalized) + "%", normalized, utf8.RuneCountInString(normalized), limit, inside}
	phrase := `"` + strings.ReplaceAll(normalized, `"`, `""`) + `"`
	walk := inside+limit <= q.searchWindow
	if walk && q.dialect == SQLite {
		// A query found in few names (a rare word, a typo) is cheaper
		// to take whole from the trigram index than to look for in the
		// window: the probe reads at most searchWindow/searchProbeShare
		// of the index's matches, and when that is all of them, they
		// are the candidates, checked and sorted at once.
		ids, all, err := q.trigramMatches(ctx, phrase, q.searchWindow/searchProbeShare)
		if err != nil {
			return nil, err
		}
		if all {
			if len(ids) == 0 {
				return out, nil
			}
			more, err := q.searchProjects(ctx, `SELECT `+listingColumns+` FROM projects p
				WHERE p.id IN (SELECT value FROM json_each($6)) AND `+match+`
				ORDER BY p.normalized_name LIMIT $4 OFFSET $5`, append(args, jsonIDs(ids))...)
			return append(out, more...), err
		}
	}
	if walk {
		// The first matches among the first names are the first of all.
		more, err := q.searchProjects(ctx, `SELECT `+listingColumns+` FROM projects p
			WHERE p.normalized_name <= (SELECT normalized_name FROM projects ORDER BY normalized_name
				LIMIT 1 OFFSET `+strconv.Itoa(q.searchWindow-1)+`) AND `+match+`
			ORDER BY p.normalized_name LIMIT $4 OFFSET $5`, args...)
		if err != nil || len(more) == limit {
			return append(out, more...), err
		}
	}
	var more []Listing
	if q.dialect == SQLite {
		// The phrase matches the names that hold its trigrams in a row: a
		// superset of the LIKE's matches (it folds the case of every
		// letter, LIKE only ASCII's), which the LIKE then checks. CROSS
		// JOIN keeps the index as the outer loop.
		more, err = q.searchProjects(ctx, `SELECT `+listingColumns+` FROM project_names f CROSS JOIN projects p ON p.id = f.rowid
			WHERE f.project_names MATCH $6 AND `+match+` ORDER BY p.normalized_name LIMIT $4 OFFSET $5`,
			append(args, phrase)...)
	} else {
		// MATERIALIZED keeps the planner from walking the name index in
		// order for the ORDER BY … LIMIT (it would read names until its
		// page is full: 90k of them for "requests"): the matches come
		// from the trigram index, then are sorted.
		more, err = q.searchProjects(ctx, `WITH m AS MATERIALIZED (SELECT `+listingColumns+` FROM projects p WHERE `+match+`)
			SELECT * FROM m ORDER BY normalized_name LIMIT $4 OFFSET $5`, args...)
	}
	return append(out, more...), err
}

// searchProbeShare sets what makes a query rare on SQLite: its trigram
// index holds fewer than searchWindow/searchProbeShare names for it (500),
// which are then checked and sorted whole rather than looked for in the
// window of names first, whose walk costs more (at PyPI's 886k names,
// BenchmarkSearchProjects: a query found nowhere 2.8–3.1 ms → 0.5–0.6 ms).
const searchProbeShare = 20

// trigramMatches returns the names that SQLite's trigram index holds for
// phrase (a superset of the names that contain the query), by id, and
// whether that is all of them: it reads at most n.
func (q q) trigramMatches(ctx context.Context, phrase string, n int) (ids []int64, all bool, err error) {
	ids, err = queryAll(ctx, q.db, "search projects", func(row scanner) (id int64, err error) {
		return id, row.Scan(&id)
	}, `SELECT rowid FROM project_names WHERE project_names MATCH $1 LIMIT $2`, phrase, n)
	return ids, err == nil && len(ids) < n, err
}

// jsonIDs returns ids as a JSON array, for json_each.
func jsonIDs(ids []int64) string {
	b := make([]byte, 0, 2+8*len(ids))
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
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
