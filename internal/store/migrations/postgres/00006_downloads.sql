-- +goose Up
-- Critical projects and the two-factor mandate. critical_since is when
-- the daily computation first found the project in the top of downloads
-- (unix microseconds; NULL: never): it is never cleared. require_2fa is
-- an Owner's opt-in.
ALTER TABLE projects ADD COLUMN critical_since BIGINT;
ALTER TABLE projects ADD COLUMN require_2fa BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX projects_critical ON projects (critical_since) WHERE critical_since IS NOT NULL;
CREATE INDEX projects_require_2fa ON projects (id) WHERE require_2fa;

-- Downloads per project per UTC day (days since 1970-01-01), from the
-- server's own file serving and from imported access logs.
CREATE TABLE downloads (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    day        INTEGER NOT NULL,
    downloads  BIGINT  NOT NULL,
    PRIMARY KEY (project_id, day)
);
CREATE INDEX downloads_day ON downloads (day, project_id, downloads);

-- The sum of each project's downloads over the window of the last
-- computation, [first_day, last_day], kept exact by every writer of
-- downloads (they lock the state row), so that the daily computation
-- only shifts the window by a day instead of summing 180 days again.
CREATE TABLE download_window (
    project_id BIGINT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    downloads  BIGINT  NOT NULL
);
CREATE TABLE download_window_state (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    first_day INTEGER NOT NULL,
    last_day  INTEGER NOT NULL
);
-- first_day > last_day: no window yet.
INSERT INTO download_window_state (id, first_day, last_day) VALUES (1, 0, -1);

-- Imported access logs: the SHA-256 of the first line finds earlier
-- imports of the same log, and the SHA-256 of the bytes imported proves
-- that the log starts with them, so a log imported again (or grown since)
-- counts each line once.
CREATE TABLE download_imports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT    NOT NULL,
    head_sha256 TEXT    NOT NULL,
    sha256      TEXT    NOT NULL,
    size        BIGINT  NOT NULL,
    lines       BIGINT  NOT NULL,
    counted     BIGINT  NOT NULL,
    bad         BIGINT  NOT NULL,
    ignored     BIGINT  NOT NULL,
    imported_at BIGINT  NOT NULL
);
CREATE INDEX download_imports_head ON download_imports (head_sha256);

-- Every computation of the critical projects (dry runs excluded).
CREATE TABLE critical_runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    as_of_day    INTEGER NOT NULL,
    first_day    INTEGER NOT NULL,
    last_day     INTEGER NOT NULL,
    projects     BIGINT  NOT NULL,
    top_n        BIGINT  NOT NULL,
    cutoff       BIGINT  NOT NULL,
    qualified    BIGINT  NOT NULL,
    newly        BIGINT  NOT NULL,
    trigger_name TEXT    NOT NULL,
    started_at   BIGINT  NOT NULL,
    finished_at  BIGINT  NOT NULL
);
CREATE INDEX critical_runs_as_of ON critical_runs (as_of_day);

-- +goose Down
DROP TABLE critical_runs;
DROP TABLE download_imports;
DROP TABLE download_window_state;
DROP TABLE download_window;
DROP TABLE downloads;
DROP INDEX projects_require_2fa;
DROP INDEX projects_critical;
ALTER TABLE projects DROP COLUMN require_2fa;
ALTER TABLE projects DROP COLUMN critical_since;
