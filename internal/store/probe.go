package store

import (
	"context"
	"fmt"
	"time"
)

// ProbeWrite proves that the database takes writes: it rewrites the one
// row of readiness_probe with at in a transaction of its own (on SQLite a
// write transaction, which a locked, full or read-only file fails). The
// readiness check (/readyz) calls it.
func (s *Store) ProbeWrite(ctx context.Context, at time.Time) error {
	return s.InTx(ctx, func(tx *Tx) error {
		res, err := tx.db.ExecContext(ctx, `UPDATE readiness_probe SET checked_at = $1 WHERE id = 1`, micros(at))
		if err != nil {
			return fmt.Errorf("store: probe write: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store: probe write: %w", err)
		} else if n != 1 {
			return fmt.Errorf("store: probe write: %d rows of readiness_probe, want 1", n)
		}
		return nil
	})
}
