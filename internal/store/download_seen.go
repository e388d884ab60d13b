package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
)

// SeenCount is how many lines of downloads the log imports saw of one
// client address and project on a UTC day. Key stands for the address and
// the project: a keyed hash of both, so the table holds no address.
type SeenCount struct {
	Day   Day
	Key   int64
	Lines int64
}

// seenBatch is how many rows one statement of AddSeen writes.
const seenBatch = 1000

// AddSeen adds the lines to the counts of their days and keys and returns
// the totals after the addition, in the order of rows. The caller holds
// LockDownloads, so the totals do not move under it until it commits; a
// key may appear once in rows.
func (tx *Tx) AddSeen(ctx context.Context, rows []SeenCount) ([]SeenCount, error) {
	out := make([]SeenCount, 0, len(rows))
	// One statement for the full batches, prepared once: parsing it
	// costs as much as running it.
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	for start := 0; start < len(rows); start += seenBatch {
		batch := rows[start:min(start+seenBatch, len(rows))]
		args := make([]any, 0, 3*len(batch))
		for _, r := range batch {
			args = append(args, int64(r.Day), r.Key, r.Lines)
		}
		var (
			res *sql.Rows
			err error
		)
		if len(batch) == seenBatch {
			if full == nil {
				p := tx.db.(interface {
					PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
				})
				if full, err = p.PrepareContext(ctx, tx.seenQuery(seenBatch)); err != nil {
					return nil, fmt.Errorf("store: add seen downloads: %w", err)
				}
			}
			res, err = full.QueryContext(ctx, args...)
		} else {
			res, err = tx.db.QueryContext(ctx, tx.seenQuery(len(batch)), args...)
		}
		if err != nil {
			return nil, fmt.Errorf("store: add seen downloads: %w", err)
		}
		totals := make(map[[2]int64]int64, len(batch))
		for res.Next() {
			var day, key, lines int64
			if err := res.Scan(&day, &key, &lines); err != nil {
				res.Close()
				return nil, fmt.Errorf("store: add seen downloads: %w", err)
			}
			totals[[2]int64{day, key}] = lines
		}
		err = res.Err()
		res.Close()
		if err != nil {
			return nil, fmt.Errorf("store: add seen downloads: %w", err)
		}
		for _, r := range batch {
			total, ok := totals[[2]int64{int64(r.Day), r.Key}]
			if !ok {
				return nil, fmt.Errorf("store: add seen downloads: no total returned for day %s", r.Day)
			}
			out = append(out, SeenCount{Day: r.Day, Key: r.Key, Lines: total})
		}
	}
	return out, nil
}

// seenQuery is the upsert of n rows of AddSeen.
func (tx *Tx) seenQuery(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO download_seen (day, addr_key, lines) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		if tx.dialect == SQLite {
			b.WriteString("(?, ?, ?)")
		} else {
			fmt.Fprintf(&b, "(CAST($%d AS INTEGER), CAST($%d AS BIGINT), CAST($%d AS BIGINT))", 3*i+1, 3*i+2, 3*i+3)
		}
	}
	b.WriteString(` ON CONFLICT (day, addr_key) DO UPDATE SET lines = download_seen.lines + excluded.lines
		RETURNING day, addr_key, lines`)
	return b.String()
}

// PruneSeen deletes the seen counts of the days before day.
func (tx *Tx) PruneSeen(ctx context.Context, before Day) (int64, error) {
	res, err := tx.db.ExecContext(ctx, `DELETE FROM download_seen WHERE day < $1`, int64(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune seen downloads: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
