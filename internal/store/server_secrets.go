package store

import (
	"context"
	"fmt"
	"time"
)

// Secret returns the deployment-wide secret called name, creating it with
// the value made by generate the first time. Every server of a deployment
// gets the same value.
func (q q) Secret(ctx context.Context, name string, generate func() string, at time.Time) (string, error) {
	if _, err := q.db.ExecContext(ctx, `INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, generate(), micros(at)); err != nil {
		return "", fmt.Errorf("store: create secret %s: %w", name, err)
	}
	var v string
	if err := q.db.QueryRowContext(ctx, `SELECT value FROM server_secrets WHERE name = $1`, name).Scan(&v); err != nil {
		return "", fmt.Errorf("store: secret %s: %w", name, err)
	}
	return v, nil
}
