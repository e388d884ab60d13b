package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Actions of an upstream rule.
const (
	// RuleAllow: the name is proxied (in allow-list mode only allowed
	// names are); with SkipMinAge, the minimum release age does not apply
	// to it (a break glass).
	RuleAllow = "allow"
	// RuleDeny: the name is never proxied.
	RuleDeny = "deny"
	// RuleLocal: a local project may take the name although an upstream
	// lists it (an administrator's decision made in advance).
	RuleLocal = "local"
)

// UpstreamRule is an administrator's rule on upstream names. Pattern is a
// normalized project name, or a prefix pattern ending in "*" ("acme-*").
type UpstreamRule struct {
	Pattern    string
	Action     string // RuleAllow, RuleDeny or RuleLocal
	SkipMinAge bool
	Reason     string
	CreatedBy  int64 // 0: the command line
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
}

// UpstreamRules returns every upstream rule, expired ones included (the
// caller decides by ExpiresAt), by pattern.
func (q q) UpstreamRules(ctx context.Context) ([]UpstreamRule, error) {
	return queryAll(ctx, q.db, "upstream rules", func(row scanner) (UpstreamRule, error) {
		var (
			r         UpstreamRule
			by        sql.NullInt64
			at        int64
			expiresAt sql.NullInt64
		)
		err := row.Scan(&r.Pattern, &r.Action, &r.SkipMinAge, &r.Reason, &by, &at, &expiresAt)
		r.CreatedBy = by.Int64
		r.CreatedAt = fromMicros(at)
		if expiresAt.Valid {
			r.ExpiresAt = fromMicros(expiresAt.Int64)
		}
		return r, err
	}, `SELECT pattern, action, skip_min_age, reason, created_by, created_at, expires_at
		FROM upstream_rules ORDER BY pattern`)
}

// PutUpstreamRule adds r, or replaces the rule of the same pattern.
func (q q) PutUpstreamRule(ctx context.Context, r UpstreamRule) error {
	var by, expiresAt sql.NullInt64
	if r.CreatedBy != 0 {
		by = sql.NullInt64{Int64: r.CreatedBy, Valid: true}
	}
	if !r.ExpiresAt.IsZero() {
		expiresAt = sql.NullInt64{Int64: micros(r.ExpiresAt), Valid: true}
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO upstream_rules
		(pattern, action, skip_min_age, reason, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (pattern) DO UPDATE SET action = excluded.action, skip_min_age = excluded.skip_min_age,
			reason = excluded.reason, created_by = excluded.created_by, created_at = excluded.created_at,
			expires_at = excluded.expires_at`,
		r.Pattern, r.Action, r.SkipMinAge, r.Reason, by, micros(r.CreatedAt), expiresAt)
	if err != nil {
		return fmt.Errorf("store: put upstream rule %q: %w", r.Pattern, err)
	}
	return nil
}

// DeleteUpstreamRule removes the rule of pattern; ErrNotFound if none.
func (q q) DeleteUpstreamRule(ctx context.Context, pattern string) error {
	res, err := q.db.ExecContext(ctx, `DELETE FROM upstream_rules WHERE pattern = $1`, pattern)
	if err != nil {
		return fmt.Errorf("store: delete upstream rule %q: %w", pattern, err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return ErrNotFound
	}
	return nil
}
