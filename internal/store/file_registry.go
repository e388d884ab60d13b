package store

import (
	"context"
	"fmt"
	"time"
)

// FilenameUsed reports whether a filename was ever used, even by a file
// deleted since.
func (q q) FilenameUsed(ctx context.Context, filename string) (bool, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM file_registry WHERE filename = $1`, filename).Scan(&n); err != nil {
		return false, fmt.Errorf("store: file registry: %w", err)
	}
	return n > 0, nil
}

// UsedFilename returns the filename ever used that is filename itself or
// has its canonical key (a spelling variant of it), preferring filename;
// ErrNotFound when neither was ever used.
func (q q) UsedFilename(ctx context.Context, filename, key string) (string, error) {
	var used string
	err := q.db.QueryRowContext(ctx, `SELECT filename FROM file_registry WHERE filename = $1 OR canonical_key = $2
		ORDER BY CASE WHEN filename = $1 THEN 0 ELSE 1 END LIMIT 1`, filename, key).Scan(&used)
	if err != nil {
		return "", fmt.Errorf("store: file registry: %w", notFound(err))
	}
	return used, nil
}

// RegisterFilename burns a filename and its canonical key forever. A key
// already burned by another filename fails with a unique violation.
func (q q) RegisterFilename(ctx context.Context, filename, key string, at time.Time) error {
	if _, err := q.db.ExecContext(ctx, `INSERT INTO file_registry (filename, canonical_key, created_at) VALUES ($1, $2, $3)`,
		filename, key, micros(at)); err != nil {
		return fmt.Errorf("store: register filename %q: %w", filename, err)
	}
	return nil
}

// FilenamesWithoutKey returns up to limit used filenames that have no
// canonical key yet (registered before keys existed), oldest first.
func (q q) FilenamesWithoutKey(ctx context.Context, limit int) ([]string, error) {
	return queryAll(ctx, q.db, "filenames without key", func(row scanner) (string, error) {
		var fn string
		err := row.Scan(&fn)
		return fn, err
	}, `SELECT filename FROM file_registry WHERE canonical_key IS NULL ORDER BY created_at, filename LIMIT $1`, limit)
}

// SetFilenameKey gives a used filename that has none its canonical key.
// When another filename holds the key already (two spellings used before
// keys existed), the filename gets the key "alias:<filename>" instead: it
// stays burned by its own name, and the holder burns the key.
func (q q) SetFilenameKey(ctx context.Context, filename, key string) error {
	res, err := q.db.ExecContext(ctx, `UPDATE file_registry SET canonical_key = $2 WHERE filename = $1 AND canonical_key IS NULL
		AND NOT EXISTS (SELECT 1 FROM file_registry o WHERE o.canonical_key = $2)`, filename, key)
	if err != nil {
		return fmt.Errorf("store: set filename key of %q: %w", filename, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: set filename key of %q: %w", filename, err)
	} else if n == 1 {
		return nil
	}
	if _, err := q.db.ExecContext(ctx, `UPDATE file_registry SET canonical_key = $2 WHERE filename = $1 AND canonical_key IS NULL`,
		filename, "alias:"+filename); err != nil {
		return fmt.Errorf("store: set filename key of %q: %w", filename, err)
	}
	return nil
}
