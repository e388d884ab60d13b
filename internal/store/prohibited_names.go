package store

import (
	"context"
	"fmt"
	"time"
)

// IsProhibited reports whether a prohibited name (an administrator's, or a
// deleted project's) has the ultranormalized form ultra: every spelling
// and look-alike of a prohibited name is prohibited too.
func (q q) IsProhibited(ctx context.Context, ultra string) (bool, error) {
	var n int
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM prohibited_names WHERE ultranormalized_name = $1`, ultra).Scan(&n); err != nil {
		return false, fmt.Errorf("store: prohibited name: %w", err)
	}
	return n > 0, nil
}

// ProhibitName forbids a project name, given in its normalized and
// ultranormalized forms. Prohibiting it again is a no-op.
func (q q) ProhibitName(ctx context.Context, normalized, ultra, reason string, at time.Time) error {
	_, err := q.db.ExecContext(ctx, `INSERT INTO prohibited_names (normalized_name, ultranormalized_name, reason, created_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT (normalized_name) DO NOTHING`, normalized, ultra, reason, micros(at))
	if err != nil {
		return fmt.Errorf("store: prohibit name: %w", err)
	}
	return nil
}

// ProhibitedName is a name no new project may take.
type ProhibitedName struct {
	Normalized string
	Reason     string
	CreatedAt  time.Time
}

// ProhibitedNames returns every prohibited name, by name.
func (q q) ProhibitedNames(ctx context.Context) ([]ProhibitedName, error) {
	return queryAll(ctx, q.db, "prohibited names", func(row scanner) (ProhibitedName, error) {
		var n ProhibitedName
		var at int64
		err := row.Scan(&n.Normalized, &n.Reason, &at)
		n.CreatedAt = fromMicros(at)
		return n, err
	}, `SELECT normalized_name, reason, created_at FROM prohibited_names ORDER BY normalized_name`)
}

// ProhibitionsLike returns the prohibited names whose ultranormalized
// form is ultra: the proxy tells a name's own prohibition from a
// look-alike's, and when each was made.
func (q q) ProhibitionsLike(ctx context.Context, ultra string) ([]ProhibitedName, error) {
	return queryAll(ctx, q.db, "prohibited names like "+ultra, func(row scanner) (ProhibitedName, error) {
		var n ProhibitedName
		var at int64
		err := row.Scan(&n.Normalized, &n.Reason, &at)
		n.CreatedAt = fromMicros(at)
		return n, err
	}, `SELECT normalized_name, reason, created_at FROM prohibited_names WHERE ultranormalized_name = $1`, ultra)
}

// LiftProhibition makes a prohibited name (normalized) free again; it
// returns ErrNotFound when the name was not prohibited.
func (q q) LiftProhibition(ctx context.Context, normalized string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM prohibited_names WHERE normalized_name = $1`, normalized)
	if err != nil {
		return fmt.Errorf("store: lift prohibition of %q: %w", normalized, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: lift prohibition of %q: %w", normalized, err)
	} else if n == 0 {
		return fmt.Errorf("store: lift prohibition of %q: %w", normalized, ErrNotFound)
	}
	return nil
}
