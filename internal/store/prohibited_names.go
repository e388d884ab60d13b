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
