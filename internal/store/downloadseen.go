package store

import (
	"context"
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

// AddSeen adds the lines to the counts of their days and keys and returns
// the totals after the addition, in the order of rows. The caller holds
// LockDownloads, so the totals do not move under it until it commits; a
// key may appear once in rows.
func (tx *Tx) AddSeen(ctx context.Context, rows []SeenCount) ([]SeenCount, error) {
	out := make([]SeenCount, 0, len(rows))
	for start := 0; start < len(rows); start += downloadBatch {
		batch := rows[start:min(start+downloadBatch, len(rows))]
		var b strings.Builder
		args := make([]any, 0, 3*len(batch))
		for i, r := range batch {
			if i > 0 {
				b.WriteString(", ")
			}
			if tx.dialect == SQLite {
				b.WriteString("(?, ?, ?)")
			} else {
				n := len(args)
				fmt.Fprintf(&b, "(CAST($%d AS INTEGER), CAST($%d AS BIGINT), CAST($%d AS BIGINT))", n+1, n+2, n+3)
			}
			args = append(args, int64(r.Day), r.Key, r.Lines)
		}
		res, err := tx.db.QueryContext(ctx, `INSERT INTO download_seen (day, addr_key, lines) VALUES `+b.String()+`
			ON CONFLICT (day, addr_key) DO UPDATE SET lines = download_seen.lines + excluded.lines
			RETURNING day, addr_key, lines`, args...)
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

// PruneSeen deletes the seen counts of the days before day.
func (tx *Tx) PruneSeen(ctx context.Context, before Day) (int64, error) {
	res, err := tx.db.ExecContext(ctx, `DELETE FROM download_seen WHERE day < $1`, int64(before))
	if err != nil {
		return 0, fmt.Errorf("store: prune seen downloads: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
