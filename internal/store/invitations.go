package store

import (
	"context"
	"fmt"
	"time"
)

// Invitation is a pending offer of a role on a project to a user, who
// accepts or declines it.
type Invitation struct {
	ProjectID   int64
	ProjectName string
	UserID      int64
	Username    string
	Role        string
	InvitedBy   string // username of the inviter; "" if the account is gone
	// InvitedByID is the inviter's user id; 0 if the account is gone.
	InvitedByID int64
	ExpiresAt   time.Time
	CreatedAt   time.Time
}

// PutInvitation records an invitation, replacing an earlier one of the
// same user to the same project.
func (q q) PutInvitation(ctx context.Context, inv *Invitation, invitedBy int64) error {
	if _, err := q.db.ExecContext(ctx, `DELETE FROM role_invitations WHERE project_id = $1 AND user_id = $2`, inv.ProjectID, inv.UserID); err != nil {
		return fmt.Errorf("store: replace invitation: %w", err)
	}
	_, err := q.db.ExecContext(ctx, `INSERT INTO role_invitations (project_id, user_id, role, invited_by, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, inv.ProjectID, inv.UserID, inv.Role, nullID(invitedBy), micros(inv.ExpiresAt), micros(inv.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add invitation: %w", err)
	}
	return nil
}

// DeleteInvitation removes an invitation; it reports whether there was one.
func (q q) DeleteInvitation(ctx context.Context, projectID, userID int64) (bool, error) {
	res, err := q.db.ExecContext(ctx, `DELETE FROM role_invitations WHERE project_id = $1 AND user_id = $2`, projectID, userID)
	if err != nil {
		return false, fmt.Errorf("store: delete invitation: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: delete invitation: %w", err)
	}
	return n > 0, nil
}

const invitationQuery = `SELECT i.project_id, p.name, i.user_id, u.username, i.role, COALESCE(b.username, ''), COALESCE(i.invited_by, 0), i.expires_at, i.created_at
	FROM role_invitations i JOIN projects p ON p.id = i.project_id JOIN users u ON u.id = i.user_id
	LEFT JOIN users b ON b.id = i.invited_by `

func scanInvitation(row interface{ Scan(...any) error }) (*Invitation, error) {
	var inv Invitation
	var expires, created int64
	if err := row.Scan(&inv.ProjectID, &inv.ProjectName, &inv.UserID, &inv.Username, &inv.Role, &inv.InvitedBy, &inv.InvitedByID, &expires, &created); err != nil {
		return nil, notFound(err)
	}
	inv.ExpiresAt, inv.CreatedAt = fromMicros(expires), fromMicros(created)
	return &inv, nil
}

// InvitationOf returns the invitation of a user to a project, or ErrNotFound.
func (q q) InvitationOf(ctx context.Context, projectID, userID int64) (*Invitation, error) {
	inv, err := scanInvitation(q.db.QueryRowContext(ctx, invitationQuery+`WHERE i.project_id = $1 AND i.user_id = $2`, projectID, userID))
	if err != nil {
		return nil, fmt.Errorf("store: invitation: %w", err)
	}
	return inv, nil
}

func (q q) invitations(ctx context.Context, where string, id int64) ([]*Invitation, error) {
	return queryAll(ctx, q.db, "invitations", scanInvitation,
		invitationQuery+where+` ORDER BY i.created_at, i.user_id`, id)
}

// ProjectInvitations lists the invitations to a project, expired ones included.
func (q q) ProjectInvitations(ctx context.Context, projectID int64) ([]*Invitation, error) {
	return q.invitations(ctx, `WHERE i.project_id = $1`, projectID)
}

// UserInvitations lists the invitations a user received, expired ones included.
func (q q) UserInvitations(ctx context.Context, userID int64) ([]*Invitation, error) {
	return q.invitations(ctx, `WHERE i.user_id = $1`, userID)
}
