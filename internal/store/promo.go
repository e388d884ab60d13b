package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PromoCode is a code of the security-key giveaway. The code is a secret
// of its holder: show it only to the user who claimed it and to
// administrators.
type PromoCode struct {
	ID         int64
	Code       string
	ImportedAt time.Time
	ClaimedBy  int64     // 0: not claimed
	ClaimedAt  time.Time // zero: not claimed
	Country    string    // the shipping country declared at the claim
}

// ErrNoPromoCode is returned by ClaimPromoCode when no unclaimed code is
// left.
var ErrNoPromoCode = errors.New("store: no promo code left")

// ErrPromoClaimed is returned by ClaimPromoCode when the user already
// holds a code.
var ErrPromoClaimed = errors.New("store: the user already holds a promo code")

// InsertPromoCode adds a code to the stock; it reports false, and changes
// nothing, when the code is already in it.
func (q q) InsertPromoCode(ctx context.Context, code string, at time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `INSERT INTO promo_codes (code, imported_at) VALUES ($1, $2) ON CONFLICT (code) DO NOTHING`,
		code, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: insert promo code: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: insert promo code: %w", err)
	}
	return n == 1, nil
}

// ClaimPromoCode assigns one unclaimed code to the user, in one statement:
// concurrent claims never share a code (on PostgreSQL each locks a
// different row, skipping the ones others hold; SQLite runs one write at
// a time), and the unique index on claimed_by keeps a user from holding
// two. The claim is counted for projectID, the critical project through
// which the user is eligible (PromoRolesOf). It returns ErrNoPromoCode
// when the stock is empty and ErrPromoClaimed when the user already holds
// one. Run it in a transaction, so that the code and its project are
// written together.
func (q q) ClaimPromoCode(ctx context.Context, userID, projectID int64, country string, at time.Time) (*PromoCode, error) {
	lock := ""
	if q.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var (
		c        PromoCode
		imported int64
	)
	err := q.db.QueryRowContext(ctx, `UPDATE promo_codes SET claimed_by = $1, claimed_at = $2, country = $3
		WHERE id = (SELECT id FROM promo_codes WHERE claimed_by IS NULL ORDER BY id LIMIT 1`+lock+`) AND claimed_by IS NULL
		RETURNING id, code, imported_at`, userID, micros(at), country).Scan(&c.ID, &c.Code, &imported)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil, ErrNoPromoCode
	case IsUniqueViolation(err):
		return nil, ErrPromoClaimed
	case err != nil:
		return nil, fmt.Errorf("store: claim promo code: %w", err)
	}
	if _, err := q.db.ExecContext(ctx, `INSERT INTO promo_claim_projects (code_id, project_id) VALUES ($1, $2)`, c.ID, projectID); err != nil {
		return nil, fmt.Errorf("store: claim promo code for project %d: %w", projectID, err)
	}
	c.ImportedAt, c.ClaimedBy, c.ClaimedAt, c.Country = fromMicros(imported), userID, at.UTC(), country
	return &c, nil
}

// PromoRole is a role that a user holds on a critical project, as the
// giveaway sees it.
type PromoRole struct {
	ProjectID int64
	Project   string // the project's name
	Role      string
	// Since is when the user got the role (accepted the invitation, or
	// created the project); a change between Owner and Maintainer keeps it.
	Since time.Time
	// Claims is how many codes were claimed through the project.
	Claims int64
}

// PromoRolesOf returns the roles the user holds on critical projects, by
// project name, with the claims made through each project.
func (q q) PromoRolesOf(ctx context.Context, userID int64) ([]PromoRole, error) {
	return queryAll(ctx, q.db, fmt.Sprintf("critical roles of user %d", userID), func(row scanner) (PromoRole, error) {
		var r PromoRole
		var since int64
		err := row.Scan(&r.ProjectID, &r.Project, &r.Role, &since, &r.Claims)
		r.Since = fromMicros(since)
		return r, err
	}, `SELECT p.id, p.name, r.role, r.created_at,
			(SELECT COUNT(*) FROM promo_claim_projects c WHERE c.project_id = p.id)
		FROM roles r JOIN projects p ON p.id = r.project_id
		WHERE r.user_id = $1 AND p.critical_since IS NOT NULL ORDER BY p.normalized_name`, userID)
}

// PromoCodeOf returns the code the user claimed, or ErrNotFound.
func (q q) PromoCodeOf(ctx context.Context, userID int64) (*PromoCode, error) {
	var (
		c                   PromoCode
		imported, claimedAt int64
		country             sql.NullString
	)
	err := q.db.QueryRowContext(ctx, `SELECT id, code, imported_at, claimed_by, claimed_at, country FROM promo_codes WHERE claimed_by = $1`,
		userID).Scan(&c.ID, &c.Code, &imported, &c.ClaimedBy, &claimedAt, &country)
	if err != nil {
		return nil, fmt.Errorf("store: promo code of user %d: %w", userID, notFound(err))
	}
	c.ImportedAt, c.ClaimedAt, c.Country = fromMicros(imported), fromMicros(claimedAt), country.String
	return &c, nil
}

// PromoStock counts the codes: all of them, and those claimed.
type PromoStock struct {
	Total, Claimed int64
}

// Left is the number of codes not claimed yet.
func (p PromoStock) Left() int64 { return p.Total - p.Claimed }

// PromoStockCounts counts the codes in the stock.
func (q q) PromoStockCounts(ctx context.Context) (PromoStock, error) {
	var p PromoStock
	if err := q.db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(claimed_by) FROM promo_codes`).Scan(&p.Total, &p.Claimed); err != nil {
		return p, fmt.Errorf("store: promo stock: %w", err)
	}
	return p, nil
}

// PromoUnclaimed reports whether at least one code is left.
func (q q) PromoUnclaimed(ctx context.Context) (bool, error) {
	var n int
	err := q.db.QueryRowContext(ctx, `SELECT 1 FROM promo_codes WHERE claimed_by IS NULL LIMIT 1`).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: promo stock: %w", err)
	}
	return true, nil
}

// CountryClaims is how many codes were claimed for one shipping country.
type CountryClaims struct {
	Country string
	Claims  int64
}

// PromoClaimsByCountry counts the claimed codes per declared country,
// most claims first.
func (q q) PromoClaimsByCountry(ctx context.Context) ([]CountryClaims, error) {
	return queryAll(ctx, q.db, "promo claims by country", func(row scanner) (CountryClaims, error) {
		var c CountryClaims
		err := row.Scan(&c.Country, &c.Claims)
		return c, err
	}, `SELECT COALESCE(country, ''), COUNT(*) FROM promo_codes WHERE claimed_by IS NOT NULL
		GROUP BY COALESCE(country, '') ORDER BY COUNT(*) DESC, COALESCE(country, '')`)
}
