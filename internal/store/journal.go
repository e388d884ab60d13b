package store

import (
	"context"
	"fmt"
	"time"
)

// Journal actions.
const (
	ActionCreateProject = "create project"
	ActionAddFile       = "add file"
	ActionRemoveFile    = "remove file"
	ActionYank          = "yank release"
	ActionUnyank        = "unyank release"
	ActionRemoveProject = "remove project"
	// ActionSetStatus: an Owner archived, deprecated or reactivated the
	// project (PEP 792).
	ActionSetStatus = "set project status"
	// ActionQuarantine: an administrator quarantined the project; every
	// replica forgets its files at once.
	ActionQuarantine = "quarantine project"
	// ActionReleaseQuarantine: an administrator released the project
	// from quarantine.
	ActionReleaseQuarantine = "release project from quarantine"
	// ActionAccessChanged: who may read changed (a token revoked, an
	// account disabled); project_id 0, no name. Every replica forgets the
	// readers it cached.
	ActionAccessChanged = "access changed"
	// ActionSetVisibility: an Owner or an administrator made the project
	// private or public; every replica re-renders its pages, its root
	// and forgets its files.
	ActionSetVisibility = "set project visibility"
	// ActionUpstreamRefresh: a proxied project's rows changed
	// (upstream_projects, upstream_files; project_id is the
	// upstream_projects id): every replica re-renders it from the rows.
	ActionUpstreamRefresh = "refresh upstream project"
	// ActionUpstreamQuarantine and ActionUpstreamRelease: an
	// administrator quarantined a proxied name, or released it.
	ActionUpstreamQuarantine = "quarantine upstream project"
	ActionUpstreamRelease    = "release upstream project"
	// ActionProhibitName: an administrator prohibited a name, or lifted
	// its prohibition (project_id 0): every replica forgets what the
	// names it proxies resolve to.
	ActionProhibitName = "change prohibited name"
)

// JournalEntry is one change to the index.
type JournalEntry struct {
	ID             int64
	ProjectID      int64
	NormalizedName string
	Action         string
	CreatedAt      time.Time
}

// AddJournal records a change and returns its serial.
func (q q) AddJournal(ctx context.Context, projectID int64, normalized, action string, at time.Time) (int64, error) {
	id, err := q.insertID(ctx, `INSERT INTO journal (project_id, normalized_name, action, created_at) VALUES ($1, $2, $3, $4)`,
		projectID, normalized, action, micros(at))
	if err != nil {
		return 0, fmt.Errorf("store: journal: %w", err)
	}
	return id, nil
}

// JournalSince returns up to limit entries after serial, oldest first.
func (q q) JournalSince(ctx context.Context, serial int64, limit int) ([]JournalEntry, error) {
	return queryAll(ctx, q.db, fmt.Sprintf("journal since %d", serial), func(row scanner) (JournalEntry, error) {
		var e JournalEntry
		var at int64
		err := row.Scan(&e.ID, &e.ProjectID, &e.NormalizedName, &e.Action, &at)
		e.CreatedAt = fromMicros(at)
		return e, err
	}, `SELECT id, project_id, normalized_name, action, created_at FROM journal WHERE id > $1 ORDER BY id LIMIT $2`, serial, limit)
}

// LastSerial returns the newest journal serial, 0 for an empty index.
func (q q) LastSerial(ctx context.Context) (int64, error) {
	var n int64
	if err := q.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM journal`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: last serial: %w", err)
	}
	return n, nil
}
