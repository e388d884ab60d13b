-- +goose Up
-- A project's status (PEP 792): active, archived, deprecated (set by its
-- Owners) or quarantined (set by an administrator), with a reason shown
-- to installers and on its page. A quarantine keeps the status it
-- replaced in prior_status and prior_status_reason, so that a release
-- restores exactly what was; status_changed_at is when it last changed.
ALTER TABLE projects ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE projects ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN prior_status TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN prior_status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE projects ADD COLUMN status_changed_at BIGINT;
-- The administrators' list of quarantined projects.
CREATE INDEX projects_status_idx ON projects (status) WHERE status <> 'active';

-- +goose Down
DROP INDEX projects_status_idx;
ALTER TABLE projects DROP COLUMN status_changed_at;
ALTER TABLE projects DROP COLUMN prior_status_reason;
ALTER TABLE projects DROP COLUMN prior_status;
ALTER TABLE projects DROP COLUMN status_reason;
ALTER TABLE projects DROP COLUMN status;
