package store

import (
	"context"
	"fmt"
	"time"
)

// TwoFactorFigures are the public two-factor adoption figures
// (/stats/2fa). Disabled accounts count nowhere: they cannot sign in,
// upload or change anything, so they are not users of the index.
type TwoFactorFigures struct {
	// Users is the number of accounts that are not disabled.
	Users int64 `json:"users"`
	// Users2FA have two-factor authentication as twofactor.HasTwoFactor
	// defines it: an authenticator app or at least one security key
	// (recovery codes alone do not count).
	Users2FA int64 `json:"users_2fa"`
	// UsersTOTP have an authenticator app.
	UsersTOTP int64 `json:"users_totp"`
	// UsersSecurityKey have at least one security key.
	UsersSecurityKey int64 `json:"users_security_key"`
	// CriticalProjects were designated critical (for good).
	CriticalProjects int64 `json:"critical_projects"`
	// CriticalUsers are the distinct owners and maintainers of critical
	// projects, and CriticalUsers2FA those of them with two-factor
	// authentication.
	CriticalUsers    int64 `json:"critical_users"`
	CriticalUsers2FA int64 `json:"critical_users_2fa"`
	// Projects2FARequired opted in: their owners require 2FA (critical or
	// not).
	Projects2FARequired int64 `json:"projects_2fa_required"`
	// PromoCodesClaimed and PromoCodesLeft are the security-key
	// giveaway's codes assigned to a user and still in stock.
	PromoCodesClaimed int64 `json:"promo_codes_claimed"`
	PromoCodesLeft    int64 `json:"promo_codes_left"`
}

// StatsSnapshot is the figures of one UTC day.
type StatsSnapshot struct {
	Day     Day
	Figures TwoFactorFigures
	TakenAt time.Time
}

// TwoFactorFigures computes the figures now, in four aggregate queries.
func (q q) TwoFactorFigures(ctx context.Context) (TwoFactorFigures, error) {
	var f TwoFactorFigures
	const users = ` FROM users u WHERE NOT u.disabled`
	err := q.db.QueryRowContext(ctx, `SELECT count(*),
			COALESCE(SUM(CASE WHEN `+hasTwoFactorSQL+` THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN `+hasTOTPSQL+` THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN `+hasSecurityKeySQL+` THEN 1 ELSE 0 END), 0)`+users).
		Scan(&f.Users, &f.Users2FA, &f.UsersTOTP, &f.UsersSecurityKey)
	if err != nil {
		return f, fmt.Errorf("store: user figures: %w", err)
	}
	err = q.db.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(CASE WHEN `+hasTwoFactorSQL+` THEN 1 ELSE 0 END), 0)`+users+`
			AND u.id IN (SELECT r.user_id FROM roles r JOIN projects p ON p.id = r.project_id WHERE p.critical_since IS NOT NULL)`).
		Scan(&f.CriticalUsers, &f.CriticalUsers2FA)
	if err != nil {
		return f, fmt.Errorf("store: critical user figures: %w", err)
	}
	err = q.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(CASE WHEN critical_since IS NOT NULL THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN require_2fa THEN 1 ELSE 0 END), 0) FROM projects`).
		Scan(&f.CriticalProjects, &f.Projects2FARequired)
	if err != nil {
		return f, fmt.Errorf("store: project figures: %w", err)
	}
	stock, err := q.PromoStockCounts(ctx)
	if err != nil {
		return f, err
	}
	f.PromoCodesClaimed, f.PromoCodesLeft = stock.Claimed, stock.Left()
	return f, nil
}

const snapshotColumns = `day, users, users_2fa, users_totp, users_security_key, critical_projects, critical_users,
	critical_users_2fa, projects_2fa_required, promo_codes_claimed, promo_codes_left, taken_at`

// PutSnapshot writes the figures of a day, replacing an earlier snapshot
// of the same day.
func (q q) PutSnapshot(ctx context.Context, s StatsSnapshot) error {
	f := s.Figures
	_, err := q.db.ExecContext(ctx, `INSERT INTO stats_snapshots (`+snapshotColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (day) DO UPDATE SET users = excluded.users, users_2fa = excluded.users_2fa,
			users_totp = excluded.users_totp, users_security_key = excluded.users_security_key,
			critical_projects = excluded.critical_projects, critical_users = excluded.critical_users,
			critical_users_2fa = excluded.critical_users_2fa, projects_2fa_required = excluded.projects_2fa_required,
			promo_codes_claimed = excluded.promo_codes_claimed, promo_codes_left = excluded.promo_codes_left,
			taken_at = excluded.taken_at`,
		int64(s.Day), f.Users, f.Users2FA, f.UsersTOTP, f.UsersSecurityKey, f.CriticalProjects, f.CriticalUsers,
		f.CriticalUsers2FA, f.Projects2FARequired, f.PromoCodesClaimed, f.PromoCodesLeft, micros(s.TakenAt))
	if err != nil {
		return fmt.Errorf("store: put snapshot of %s: %w", s.Day, err)
	}
	return nil
}

// Snapshots returns the snapshots of the days from..to (inclusive), oldest
// first.
func (q q) Snapshots(ctx context.Context, from, to Day) ([]StatsSnapshot, error) {
	return queryAll(ctx, q.db, "snapshots", func(row scanner) (StatsSnapshot, error) {
		var s StatsSnapshot
		var day, taken int64
		f := &s.Figures
		err := row.Scan(&day, &f.Users, &f.Users2FA, &f.UsersTOTP, &f.UsersSecurityKey, &f.CriticalProjects, &f.CriticalUsers,
			&f.CriticalUsers2FA, &f.Projects2FARequired, &f.PromoCodesClaimed, &f.PromoCodesLeft, &taken)
		s.Day, s.TakenAt = Day(day), fromMicros(taken)
		return s, err
	}, `SELECT `+snapshotColumns+` FROM stats_snapshots WHERE day >= $1 AND day <= $2 ORDER BY day`, int64(from), int64(to))
}
