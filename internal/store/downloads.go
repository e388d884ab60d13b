package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Day is a UTC calendar day, counted from 1970-01-01 (day 0).
type Day int64

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	s := t.Unix()
	d := s / 86400
	if s < 0 && s%86400 != 0 {
		d--
	}
	return Day(d)
}

// ParseDay parses a day written 2006-01-02.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("not a date (want YYYY-MM-DD): %q", s)
	}
	return DayOf(t), nil
}

// Time returns the start of the day, UTC.
func (d Day) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String writes the day as 2006-01-02.
func (d Day) String() string { return d.Time().Format(time.DateOnly) }

// DownloadCount is a number of downloads of a project on a day.
type DownloadCount struct {
	ProjectID int64
	Day       Day
	Downloads int64
}

// WindowState is the window whose sums download_window holds; Empty when
// no computation made one yet.
type WindowState struct {
	First, Last Day
}

// Empty reports whether there is no window.
func (w WindowState) Empty() bool { return w.First > w.Last }

// Contains reports whether d is inside the window.
func (w WindowState) Contains(d Day) bool { return d >= w.First && d <= w.Last }

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
	windowSums := map[int64]int64{}
	var windowKeys []int64
	for start := 0; start < len(keys); start += downloadBatch {
		batch := keys[start:min(start+downloadBatch, len(keys))]
		rows := make([]DownloadCount, len(batch))
		for i, k := range batch {
			rows[i] = DownloadCount{ProjectID: k.project, Day: k.day, Downloads: sums[k]}
		}
		values, args := downloadValues(tx.dialect, rows, true)
		res, err := tx.db.ExecContext(ctx, `INSERT INTO downloads (project_id, day, downloads)
			SELECT column1, column2, column3 FROM (VALUES `+values+`) AS v WHERE column1 IN (SELECT id FROM projects)
			ON CONFLICT (project_id, day) DO UPDATE SET downloads = downloads.downloads + excluded.downloads`, args...)
		if err != nil {
			return kept, fmt.Errorf("store: add downloads: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return kept, fmt.Errorf("store: add downloads: %w", err)
		}
		kept += int(n)
		for _, k := range batch {
			if w.Contains(k.day) {
				if _, ok := windowSums[k.project]; !ok {
					windowKeys = append(windowKeys, k.project)
				}
				windowSums[k.project] += sums[k]
			}
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

// MoveWindow makes download_window hold the sums over [first, last]. When
// the kept window overlaps the new one, it subtracts the days that leave
// and adds the days that enter (a daily computation reads two days of
// counts); it sums every day of the new window again when there is no
// kept window, no overlap, or when that reads fewer days. The caller holds
// LockDownloads.
func (tx *Tx) MoveWindow(ctx context.Context, from WindowState, first, last Day) error {
	to := WindowState{First: first, Last: last}
	if to.Empty() {
		return fmt.Errorf("store: move window: empty window %s..%s", first, last)
	}
	if tx.dialect == Postgres {
		// The aggregates below group up to every project: keep their
		// hash tables in memory (the default 4 MB spills to disk).
		if _, err := tx.db.ExecContext(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
			return fmt.Errorf("store: move window: %w", err)
		}
	}
	leave, enter, shift := windowChange(from, to)
	switch {
	case !shift:
		if _, err := tx.db.ExecContext(ctx, `DELETE FROM download_window`); err != nil {
			return fmt.Errorf("store: rebuild window: %w", err)
		}
		// +day keeps SQLite off the day index: scanning the table in
		// (project, day) order groups without sorting every row.
		if _, err := tx.db.ExecContext(ctx, `INSERT INTO download_window (project_id, downloads)
			SELECT project_id, SUM(downloads) FROM downloads WHERE +day >= $1 AND +day <= $2 GROUP BY project_id`,
			int64(first), int64(last)); err != nil {
			return fmt.Errorf("store: rebuild window: %w", err)
		}
	case len(leave)+len(enter) > 0:
		leaving, args := daysUnion("-downloads", leave, nil)
		entering, args := daysUnion("downloads", enter, args)
		changes := append(leaving, entering...)
		// One update by the net change of each project in the window…
		if _, err := tx.db.ExecContext(ctx, `UPDATE download_window AS w SET downloads = w.downloads + d.delta
			FROM (SELECT project_id, SUM(n) AS delta FROM (`+strings.Join(changes, " UNION ALL ")+`) AS c
				GROUP BY project_id) AS d
			WHERE w.project_id = d.project_id AND d.delta <> 0`, args...); err != nil {
			return fmt.Errorf("store: move window: %w", err)
		}
		// …then the projects new to it: a project outside the window had
		// no downloads on any of its days, so its sum is what enters.
		if len(enter) > 0 {
			entering, args = daysUnion("downloads", enter, nil)
			if _, err := tx.db.ExecContext(ctx, `INSERT INTO download_window (project_id, downloads)
				SELECT project_id, SUM(n) FROM (`+strings.Join(entering, " UNION ALL ")+`) AS e
				WHERE project_id NOT IN (SELECT project_id FROM download_window)
				GROUP BY project_id HAVING SUM(n) > 0`, args...); err != nil {
				return fmt.Errorf("store: move window: %w", err)
			}
		}
		if _, err := tx.db.ExecContext(ctx, `DELETE FROM download_window WHERE downloads = 0`); err != nil {
			return fmt.Errorf("store: move window: %w", err)
		}
	}
	if _, err := tx.db.ExecContext(ctx, `UPDATE download_window_state SET first_day = $1, last_day = $2 WHERE id = 1`,
		int64(first), int64(last)); err != nil {
		return fmt.Errorf("store: move window: %w", err)
	}
	return nil
}

// daysUnion appends to args the bounds of each span, and returns for each a
// SELECT of project_id and value (as n) over the counts of its days, to be
// joined by UNION ALL.
func daysUnion(value string, spans []WindowState, args []any) ([]string, []any) {
	var selects []string
	for _, sp := range spans {
		selects = append(selects, fmt.Sprintf(`SELECT project_id, %s AS n FROM downloads WHERE day >= $%d AND day <= $%d`,
			value, len(args)+1, len(args)+2))
		args = append(args, int64(sp.First), int64(sp.Last))
	}
	return selects, args
}

// windowChange returns the spans of days that leave and enter when the
// window moves from one to the other, and whether shifting by them reads
// fewer days than summing the new window again (false also when from is
// empty or the two do not overlap).
func windowChange(from, to WindowState) (leave, enter []WindowState, shift bool) {
	if from.Empty() || from.Last < to.First || to.Last < from.First {
		return nil, nil, false
	}
	if from.First < to.First {
		leave = append(leave, WindowState{from.First, to.First - 1})
	}
	if from.Last > to.Last {
		leave = append(leave, WindowState{to.Last + 1, from.Last})
	}
	if to.First < from.First {
		enter = append(enter, WindowState{to.First, from.First - 1})
	}
	if to.Last > from.Last {
		enter = append(enter, WindowState{from.Last + 1, to.Last})
	}
	var days int64
	for _, sp := range append(slices.Clip(leave), enter...) {
		days += int64(sp.Last-sp.First) + 1
	}
	return leave, enter, days < int64(to.Last-to.First)+1
}

// WindowCutoff returns the downloads of the n-th project by downloads in
// the window (n ≥ 1), counting only projects with downloads; when fewer
// than n have any, the smallest positive sum. 0: no project has any.
func (q q) WindowCutoff(ctx context.Context, n int64) (int64, error) {
	var cut int64
	err := q.db.QueryRowContext(ctx, `SELECT downloads FROM download_window WHERE downloads > 0
		ORDER BY downloads DESC LIMIT 1 OFFSET $1`, n-1).Scan(&cut)
	if errors.Is(notFound(err), ErrNotFound) {
		err = q.db.QueryRowContext(ctx, `SELECT COALESCE(MIN(downloads), 0) FROM download_window WHERE downloads > 0`).Scan(&cut)
	}
	if err != nil {
		return 0, fmt.Errorf("store: window cutoff: %w", err)
	}
	return cut, nil
}

// CountQualifying counts the projects with at least cutoff (> 0)
// downloads in the window.
func (q q) CountQualifying(ctx context.Context, cutoff int64) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM download_window WHERE downloads >= $1 AND downloads > 0`,
		cutoff).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count qualifying: %w", err)
	}
	return n, nil
}

// NewlyCritical returns the projects with at least cutoff (> 0) downloads
// in the window that are not critical yet, by downloads, most first.
func (q q) NewlyCritical(ctx context.Context, cutoff int64) ([]*Project, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+prefixed("p.", projectColumns)+` FROM download_window w JOIN projects p ON p.id = w.project_id
		WHERE w.downloads >= $1 AND w.downloads > 0 AND p.critical_since IS NULL ORDER BY w.downloads DESC, p.id`, cutoff)
	if err != nil {
		return nil, fmt.Errorf("store: newly critical: %w", err)
	}
	defer rows.Close()
	var out []*Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("store: newly critical: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: newly critical: %w", err)
	}
	return out, nil
}

// MarkCritical makes the project critical since at, unless it already is.
func (q q) MarkCritical(ctx context.Context, projectID int64, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET critical_since = $1 WHERE id = $2 AND critical_since IS NULL`,
		micros(at), projectID); err != nil {
		return fmt.Errorf("store: mark project %d critical: %w", projectID, err)
	}
	return nil
}

// SetRequire2FA sets a project's opt-in to the two-factor mandate.
func (q q) SetRequire2FA(ctx context.Context, projectID int64, on bool) error {
	if _, err := q.db.ExecContext(ctx, `UPDATE projects SET require_2fa = $1 WHERE id = $2`, on, projectID); err != nil {
		return fmt.Errorf("store: set require 2fa of project %d: %w", projectID, err)
	}
	return nil
}

// WindowDownloads returns a project's downloads in the window of the last
// computation (0 when none).
func (q q) WindowDownloads(ctx context.Context, projectID int64) (int64, error) {
	var n int64
	err := q.db.QueryRowContext(ctx, `SELECT downloads FROM download_window WHERE project_id = $1`, projectID).Scan(&n)
	if err != nil && !errors.Is(notFound(err), ErrNotFound) {
		return 0, fmt.Errorf("store: window downloads: %w", err)
	}
	return n, nil
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

// DownloadImport records an access log imported.
type DownloadImport struct {
	ID   int64
	Name string
	// HeadSHA256 is the SHA-256 of the log's first line; SHA256 that of
	// its first Size bytes, all of them imported.
	HeadSHA256, SHA256 string
	Size               int64
	// Lines read, Counted as downloads, Bad (unreadable), Ignored (not a
	// successful download of a known file).
	Lines, Counted, Bad, Ignored int64
	ImportedAt                   time.Time
}

// DownloadImportsByHead returns the imports of logs that start with the
// line whose SHA-256 is head, largest first.
func (q q) DownloadImportsByHead(ctx context.Context, head string) ([]*DownloadImport, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT id, name, head_sha256, sha256, size, lines, counted, bad, ignored, imported_at
		FROM download_imports WHERE head_sha256 = $1 ORDER BY size DESC, id`, head)
	if err != nil {
		return nil, fmt.Errorf("store: download imports: %w", err)
	}
	defer rows.Close()
	var out []*DownloadImport
	for rows.Next() {
		var d DownloadImport
		var at int64
		if err := rows.Scan(&d.ID, &d.Name, &d.HeadSHA256, &d.SHA256, &d.Size, &d.Lines, &d.Counted, &d.Bad, &d.Ignored, &at); err != nil {
			return nil, fmt.Errorf("store: download imports: %w", err)
		}
		d.ImportedAt = fromMicros(at)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: download imports: %w", err)
	}
	return out, nil
}

// AddDownloadImport records an import.
func (q q) AddDownloadImport(ctx context.Context, d *DownloadImport) error {
	id, err := q.insertID(ctx, `INSERT INTO download_imports (name, head_sha256, sha256, size, lines, counted, bad, ignored, imported_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		d.Name, d.HeadSHA256, d.SHA256, d.Size, d.Lines, d.Counted, d.Bad, d.Ignored, micros(d.ImportedAt))
	if err != nil {
		return fmt.Errorf("store: record download import: %w", err)
	}
	d.ID = id
	return nil
}

// CriticalRun records one computation of the critical projects.
type CriticalRun struct {
	ID int64
	// AsOf is the day of the computation; the window is [First, Last].
	AsOf, First, Last Day
	// Projects is the number of projects, TopN the size of the top, Cutoff
	// the downloads of the TopN-th project, Qualified how many projects
	// reached it, Newly how many became critical.
	Projects, TopN, Cutoff, Qualified, Newly int64
	// Trigger is "schedule" or "admin".
	Trigger               string
	StartedAt, FinishedAt time.Time
}

const criticalRunColumns = `id, as_of_day, first_day, last_day, projects, top_n, cutoff, qualified, newly, trigger_name, started_at, finished_at`

func scanCriticalRun(row interface{ Scan(...any) error }) (*CriticalRun, error) {
	var r CriticalRun
	var started, finished int64
	if err := row.Scan(&r.ID, &r.AsOf, &r.First, &r.Last, &r.Projects, &r.TopN, &r.Cutoff, &r.Qualified, &r.Newly,
		&r.Trigger, &started, &finished); err != nil {
		return nil, notFound(err)
	}
	r.StartedAt, r.FinishedAt = fromMicros(started), fromMicros(finished)
	return &r, nil
}

// AddCriticalRun records a computation.
func (q q) AddCriticalRun(ctx context.Context, r *CriticalRun) error {
	id, err := q.insertID(ctx, `INSERT INTO critical_runs (as_of_day, first_day, last_day, projects, top_n, cutoff, qualified, newly,
		trigger_name, started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		int64(r.AsOf), int64(r.First), int64(r.Last), r.Projects, r.TopN, r.Cutoff, r.Qualified, r.Newly, r.Trigger,
		micros(r.StartedAt), micros(r.FinishedAt))
	if err != nil {
		return fmt.Errorf("store: record critical run: %w", err)
	}
	r.ID = id
	return nil
}

// CriticalRunOn returns the latest computation made as of day.
func (q q) CriticalRunOn(ctx context.Context, day Day) (*CriticalRun, error) {
	r, err := scanCriticalRun(q.db.QueryRowContext(ctx, `SELECT `+criticalRunColumns+` FROM critical_runs
		WHERE as_of_day = $1 ORDER BY id DESC LIMIT 1`, int64(day)))
	if err != nil && err != ErrNotFound {
		err = fmt.Errorf("store: critical run: %w", err)
	}
	return r, err
}

// LastCriticalRun returns the latest computation.
func (q q) LastCriticalRun(ctx context.Context) (*CriticalRun, error) {
	r, err := scanCriticalRun(q.db.QueryRowContext(ctx, `SELECT `+criticalRunColumns+` FROM critical_runs ORDER BY id DESC LIMIT 1`))
	if err != nil && err != ErrNotFound {
		err = fmt.Errorf("store: last critical run: %w", err)
	}
	return r, err
}

// MandateCollaborator is a collaborator of a project, with its two-factor
// status.
type MandateCollaborator struct {
	UserID    int64
	Username  string
	Email     string
	Role      string
	TwoFactor bool
}

// ProjectMandate is a project that requires two-factor authentication of
// its collaborators (critical or opted in).
type ProjectMandate struct {
	Project       *Project
	Collaborators []MandateCollaborator
}

// MandatedProjectsOf returns the projects on which the user holds a role
// and that are critical or require two-factor authentication, by name.
func (q q) MandatedProjectsOf(ctx context.Context, userID int64) ([]*Project, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+prefixed("p.", projectColumns)+` FROM roles r JOIN projects p ON p.id = r.project_id
		WHERE r.user_id = $1 AND (p.critical_since IS NOT NULL OR p.require_2fa) ORDER BY p.normalized_name`, userID)
	if err != nil {
		return nil, fmt.Errorf("store: mandated projects: %w", err)
	}
	defer rows.Close()
	var out []*Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, fmt.Errorf("store: mandated projects: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: mandated projects: %w", err)
	}
	return out, nil
}

// MandateCollaborators returns the collaborators of a project with their
// two-factor status, Owners first.
func (q q) MandateCollaborators(ctx context.Context, projectID int64) ([]MandateCollaborator, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT u.id, u.username, u.email, r.role,
			u.totp_secret IS NOT NULL OR EXISTS (SELECT 1 FROM security_keys k WHERE k.user_id = u.id)
		FROM roles r JOIN users u ON u.id = r.user_id WHERE r.project_id = $1 ORDER BY r.role DESC, u.username_lower`, projectID)
	if err != nil {
		return nil, fmt.Errorf("store: collaborators of %d: %w", projectID, err)
	}
	defer rows.Close()
	var out []MandateCollaborator
	for rows.Next() {
		var c MandateCollaborator
		if err := rows.Scan(&c.UserID, &c.Username, &c.Email, &c.Role, &c.TwoFactor); err != nil {
			return nil, fmt.Errorf("store: collaborators of %d: %w", projectID, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: collaborators of %d: %w", projectID, err)
	}
	return out, nil
}

// CriticalProjects returns every critical project, the most recent first,
// with its collaborators and their two-factor status.
func (q q) CriticalProjects(ctx context.Context) ([]ProjectMandate, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+projectColumns+` FROM projects WHERE critical_since IS NOT NULL
		ORDER BY critical_since DESC, normalized_name`)
	if err != nil {
		return nil, fmt.Errorf("store: critical projects: %w", err)
	}
	var out []ProjectMandate
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: critical projects: %w", err)
		}
		out = append(out, ProjectMandate{Project: p})
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("store: critical projects: %w", err)
	}
	for i := range out {
		if out[i].Collaborators, err = q.MandateCollaborators(ctx, out[i].Project.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}
