-- +goose Up
-- Users' reports of a project (malware, spam, typosquat, dependency
-- confusion, other), for the administrators' queue. A report is open
-- until an administrator quarantines the project on it or dismisses it
-- (closed_at, resolution); a user has at most one open report of a
-- project.
CREATE TABLE reports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id  BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    reporter_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    closed_at   BIGINT,
    resolution  TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX reports_open_idx ON reports (project_id, reporter_id) WHERE closed_at IS NULL;
-- The queue: the open reports.
CREATE INDEX reports_queue_idx ON reports (created_at) WHERE closed_at IS NULL;

-- +goose Down
DROP TABLE reports;
