package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Event is an entry of the security history of a user and/or a project.
type Event struct {
	ID          int64
	UserID      int64 // 0: none
	ProjectID   int64 // 0: none
	ProjectName string
	ActorID     int64 // who acted; 0: the system
	Tag         string
	IP          string
	UserAgent   string
	Details     string // JSON object
	CreatedAt   time.Time
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// AddEvent records an event and sets its ID.
func (q q) AddEvent(ctx context.Context, e *Event) error {
	if e.Details == "" {
		e.Details = "{}"
	}
	id, err := q.insertID(ctx, `INSERT INTO events (user_id, project_id, project_name, actor_id, tag, ip, user_agent, details, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, nullID(e.UserID), nullID(e.ProjectID), e.ProjectName, nullID(e.ActorID),
		e.Tag, e.IP, e.UserAgent, e.Details, micros(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add event %s: %w", e.Tag, err)
	}
	e.ID = id
	return nil
}

const eventColumns = `id, user_id, project_id, project_name, actor_id, tag, ip, user_agent, details, created_at`

func (q q) events(ctx context.Context, where string, arg any, limit int) ([]*Event, error) {
	return queryAll(ctx, q.db, "events", func(row scanner) (*Event, error) {
		var e Event
		var user, project, actor sql.NullInt64
		var created int64
		err := row.Scan(&e.ID, &user, &project, &e.ProjectName, &actor, &e.Tag, &e.IP, &e.UserAgent, &e.Details, &created)
		e.UserID, e.ProjectID, e.ActorID = user.Int64, project.Int64, actor.Int64
		e.CreatedAt = fromMicros(created)
		return &e, err
	}, `SELECT `+eventColumns+` FROM events WHERE `+where+` = $1 ORDER BY id DESC LIMIT $2`, arg, limit)
}

// UserEvents returns the latest events of a user, newest first.
func (q q) UserEvents(ctx context.Context, userID int64, limit int) ([]*Event, error) {
	return q.events(ctx, "user_id", userID, limit)
}

// ProjectEvents returns the latest events of a project, newest first.
func (q q) ProjectEvents(ctx context.Context, projectID int64, limit int) ([]*Event, error) {
	return q.events(ctx, "project_id", projectID, limit)
}
