package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// WindowState is the window whose sums download_window holds; Empty when
// no computation made one yet.
type WindowState struct {
	First, Last Day
}

// Empty reports whether there is no window.
func (w WindowState) Empty() bool { return w.First > w.Last }

// Contains reports whether d is inside the window.
func (w WindowState) Contains(d Day) bool { return d >= w.First && d <= w.Last }

// windowProjectKey is the name PostgreSQL gave the foreign key of
// download_window to projects (migration 00006).
const windowProjectKey = `download_window_project_id_fkey`

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
		empty := `DELETE FROM download_window`
		if tx.dialect == Postgres {
			// PostgreSQL checks the foreign key of each inserted row
			// apart, locking its project (FOR KEY SHARE: a write to
			// the project's row): half of the rebuild's time at 886k
			// projects (30 s of 62 s for 668k sums, under load). The
			// constraint is dropped for the rebuild and added back after
			// it, which checks every row in one join. The table is then
			// locked until the transaction ends (writers of counts wait
			// for LockDownloads anyway), so TRUNCATE costs no more than
			// DELETE, without leaving every row dead.
			if _, err := tx.db.ExecContext(ctx, `ALTER TABLE download_window DROP CONSTRAINT `+windowProjectKey); err != nil {
				return fmt.Errorf("store: rebuild window: %w", err)
			}
			empty = `TRUNCATE download_window`
		}
		if _, err := tx.db.ExecContext(ctx, empty); err != nil {
			return fmt.Errorf("store: rebuild window: %w", err)
		}
		// +day keeps SQLite off the day index: scanning the table in
		// (project, day) order groups without sorting every row. The
		// sums go in by project (PostgreSQL's hash aggregate gives them
		// in no order): the primary key's B-tree then grows at its right
		// edge instead of taking each row at a random page, half the
		// insert's time at 886k projects.
		if _, err := tx.db.ExecContext(ctx, `INSERT INTO download_window (project_id, downloads)
			SELECT project_id, SUM(downloads) FROM downloads WHERE +day >= $1 AND +day <= $2 GROUP BY project_id
			ORDER BY project_id`,
			int64(first), int64(last)); err != nil {
			return fmt.Errorf("store: rebuild window: %w", err)
		}
		if tx.dialect == Postgres {
			if _, err := tx.db.ExecContext(ctx, `ALTER TABLE download_window ADD CONSTRAINT `+windowProjectKey+`
				FOREIGN KEY (project_id) REFERENCES projects (id) ON DELETE CASCADE`); err != nil {
				return fmt.Errorf("store: rebuild window: %w", err)
			}
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
