-- +goose Up
CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL,
    username_lower TEXT    NOT NULL UNIQUE,
    email          TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,
    is_admin       BOOLEAN NOT NULL DEFAULT FALSE,
    disabled       BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL
);

CREATE TABLE projects (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT    NOT NULL,
    normalized_name      TEXT    NOT NULL UNIQUE,
    ultranormalized_name TEXT    NOT NULL UNIQUE,
    total_size           BIGINT  NOT NULL DEFAULT 0,
    last_serial          BIGINT  NOT NULL DEFAULT 0,
    created_at           BIGINT  NOT NULL
);

CREATE TABLE roles (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('Owner', 'Maintainer')),
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX roles_user ON roles (user_id);

CREATE TABLE releases (
    id                INTEGER PRIMARY KEY,
    project_id        INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version           TEXT    NOT NULL,
    canonical_version TEXT    NOT NULL,
    is_prerelease     BOOLEAN NOT NULL,
    requires_python   TEXT    NOT NULL DEFAULT '',
    summary           TEXT    NOT NULL DEFAULT '',
    metadata_json     TEXT    NOT NULL,
    yanked            BOOLEAN NOT NULL DEFAULT FALSE,
    yanked_reason     TEXT    NOT NULL DEFAULT '',
    created_at        BIGINT  NOT NULL,
    UNIQUE (project_id, canonical_version)
);

CREATE TABLE files (
    id                INTEGER PRIMARY KEY,
    release_id        INTEGER NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    project_id        INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    filename          TEXT    NOT NULL UNIQUE,
    packagetype       TEXT    NOT NULL,
    python_version    TEXT    NOT NULL,
    requires_python   TEXT    NOT NULL DEFAULT '',
    size              BIGINT  NOT NULL,
    md5_digest        TEXT    NOT NULL,
    sha256_digest     TEXT    NOT NULL UNIQUE,
    blake2_256_digest TEXT    NOT NULL UNIQUE,
    metadata_sha256   TEXT,
    comment_text      TEXT    NOT NULL DEFAULT '',
    uploaded_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    upload_time       BIGINT  NOT NULL
);
CREATE INDEX files_project ON files (project_id);
CREATE INDEX files_release ON files (release_id);

-- Every filename ever used, so that a deleted file's name is never reused.
CREATE TABLE file_registry (
    filename   TEXT   PRIMARY KEY,
    created_at BIGINT NOT NULL
);

CREATE TABLE prohibited_names (
    normalized_name TEXT   PRIMARY KEY,
    reason          TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scoped       BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at   BIGINT,
    last_used_at BIGINT,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

CREATE TABLE api_token_projects (
    token_id   INTEGER NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    PRIMARY KEY (token_id, project_id)
);

-- The journal orders every change to the index; replicas follow it to
-- invalidate their caches, and its ids are the serials of PEP 691.
CREATE TABLE journal (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id      BIGINT  NOT NULL,
    normalized_name TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE journal;
DROP TABLE api_token_projects;
DROP TABLE api_tokens;
DROP TABLE prohibited_names;
DROP TABLE file_registry;
DROP TABLE files;
DROP TABLE releases;
DROP TABLE roles;
DROP TABLE projects;
DROP TABLE users;
