package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// States of an account recovery request.
const (
	RecoveryPendingConfirmation = "pending-confirmation"
	RecoveryWaiting             = "waiting"
	RecoveryApproved            = "approved"
	RecoveryRejected            = "rejected"
	RecoveryCancelled           = "cancelled"
	RecoveryExpired             = "expired"
)

// Purposes of the account tokens of account recovery.
const (
	PurposeRecoveryConfirm = "recovery_confirm"
	PurposeRecoveryCancel  = "recovery_cancel"
)

// RecoveryRequest is a request of a user who lost every second factor to
// have them removed.
type RecoveryRequest struct {
	ID          int64
	UserID      int64
	Username    string // of UserID, filled by the reads
	Email       string // of UserID, filled by the reads
	State       string
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero: not confirmed
	DecidedAt   time.Time // zero: not decided
	DecidedBy   int64     // 0: nobody
	Reason      string
}

// Open reports whether the request may still be confirmed, cancelled or
// decided.
func (r *RecoveryRequest) Open() bool {
	return r.State == RecoveryPendingConfirmation || r.State == RecoveryWaiting
}

const recoveryColumns = `r.id, r.user_id, u.username, u.email, r.state, r.created_at, r.confirmed_at, r.decided_at, r.decided_by, r.reason`

func scanRecovery(row interface{ Scan(...any) error }) (*RecoveryRequest, error) {
	var r RecoveryRequest
	var created int64
	var confirmed, decided, by sql.NullInt64
	if err := row.Scan(&r.ID, &r.UserID, &r.Username, &r.Email, &r.State, &created, &confirmed, &decided, &by, &r.Reason); err != nil {
		return nil, notFound(err)
	}
	r.CreatedAt = fromMicros(created)
	if confirmed.Valid {
		r.ConfirmedAt = fromMicros(confirmed.Int64)
	}
	if decided.Valid {
		r.DecidedAt = fromMicros(decided.Int64)
	}
	r.DecidedBy = by.Int64
	return &r, nil
}

// CreateRecoveryRequest inserts a request (pending confirmation) and sets
// its ID.
func (q q) CreateRecoveryRequest(ctx context.Context, r *RecoveryRequest) error {
	id, err := q.insertID(ctx, `INSERT INTO recovery_requests (user_id, state, created_at, reason) VALUES ($1, $2, $3, $4)`,
		r.UserID, r.State, micros(r.CreatedAt), r.Reason)
	if err != nil {
		return fmt.Errorf("store: create recovery request: %w", err)
	}
	r.ID = id
	return nil
}

// RecoveryRequestByID returns a request, or ErrNotFound.
func (q q) RecoveryRequestByID(ctx context.Context, id int64) (*RecoveryRequest, error) {
	r, err := scanRecovery(q.db.QueryRowContext(ctx, `SELECT `+recoveryColumns+`
		FROM recovery_requests r JOIN users u ON u.id = r.user_id WHERE r.id = $1`, id))
	if err != nil {
		return nil, fmt.Errorf("store: recovery request %d: %w", id, err)
	}
	return r, nil
}

// OpenRecoveryRequest returns the user's latest open request (pending
// confirmation or waiting), or ErrNotFound.
func (q q) OpenRecoveryRequest(ctx context.Context, userID int64) (*RecoveryRequest, error) {
	r, err := scanRecovery(q.db.QueryRowContext(ctx, `SELECT `+recoveryColumns+`
		FROM recovery_requests r JOIN users u ON u.id = r.user_id
		WHERE r.user_id = $1 AND r.state IN ('pending-confirmation', 'waiting') ORDER BY r.id DESC LIMIT 1`, userID))
	if err != nil {
		return nil, fmt.Errorf("store: open recovery request of user %d: %w", userID, err)
	}
	return r, nil
}

// RecoveryRequests lists the requests in one of states, oldest first
// (at most limit).
func (q q) RecoveryRequests(ctx context.Context, limit int, states ...string) ([]*RecoveryRequest, error) {
	args := []any{limit}
	in := ""
	for i, s := range states {
		if i > 0 {
			in += ", "
		}
		args = append(args, s)
		in += fmt.Sprintf("$%d", i+2)
	}
	return queryAll(ctx, q.db, "recovery requests", scanRecovery,
		`SELECT `+recoveryColumns+`
		FROM recovery_requests r JOIN users u ON u.id = r.user_id
		WHERE r.state IN (`+in+`) ORDER BY r.created_at, r.id LIMIT $1`, args...)
}

// UserRecoveryRequests lists the user's requests, newest first.
func (q q) UserRecoveryRequests(ctx context.Context, userID int64) ([]*RecoveryRequest, error) {
	return queryAll(ctx, q.db, fmt.Sprintf("recovery requests of user %d", userID), scanRecovery,
		`SELECT `+recoveryColumns+`
		FROM recovery_requests r JOIN users u ON u.id = r.user_id WHERE r.user_id = $1 ORDER BY r.id DESC`, userID)
}

// ConfirmRecoveryRequest moves a request pending confirmation to waiting,
// from at, and reports whether it was pending confirmation.
func (q q) ConfirmRecoveryRequest(ctx context.Context, id int64, at time.Time) (bool, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE recovery_requests SET state = 'waiting', confirmed_at = $2
		WHERE id = $1 AND state = 'pending-confirmation'`, id, micros(at))
	if err != nil {
		return false, fmt.Errorf("store: confirm recovery request %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// DecideRecoveryRequest moves an open request (pending confirmation or
// waiting; only waiting when onlyWaiting) to state (approved, rejected,
// cancelled or expired), by decidedBy (0: nobody), and reports whether it
// was open. It is a compare-and-set: of two deciders, one wins.
func (q q) DecideRecoveryRequest(ctx context.Context, id int64, state string, onlyWaiting bool, decidedBy int64, at time.Time) (bool, error) {
	cond := `state IN ('pending-confirmation', 'waiting')`
	if onlyWaiting {
		cond = `state = 'waiting'`
	}
	res, err := q.db.ExecContext(ctx, `UPDATE recovery_requests SET state = $2, decided_at = $3, decided_by = $4
		WHERE id = $1 AND `+cond, id, state, micros(at), nullID(decidedBy))
	if err != nil {
		return false, fmt.Errorf("store: decide recovery request %d: %w", id, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// ExpireRecoveryRequests marks expired the requests still pending
// confirmation created at or before before, and returns how many.
func (q q) ExpireRecoveryRequests(ctx context.Context, before, at time.Time) (int64, error) {
	res, err := q.db.ExecContext(ctx, `UPDATE recovery_requests SET state = 'expired', decided_at = $2
		WHERE state = 'pending-confirmation' AND created_at <= $1`, micros(before), micros(at))
	if err != nil {
		return 0, fmt.Errorf("store: expire recovery requests: %w", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
