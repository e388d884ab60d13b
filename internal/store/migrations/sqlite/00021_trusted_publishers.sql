-- +goose Up
-- Trusted publishers: CI identities (an OpenID Connect issuer and the
-- claims of its ID tokens) allowed to upload to projects without a
-- long-lived secret. One table for every kind: the kind's own fields are
-- columns ('' where they do not apply). lookup is the key the claims of
-- a token find the candidates by (computed by internal/publish), and
-- identity the publisher's whole configuration, unique among the
-- active publishers and, apart, among the pending ones. A pending
-- publisher (pending_name set) creates its project on first use, then
-- becomes an active one; added_by is the account that added it.
CREATE TABLE trusted_publishers (
    id                  INTEGER PRIMARY KEY,
    kind                TEXT   NOT NULL CHECK (kind IN ('github', 'gitlab', 'google', 'generic')),
    issuer              TEXT   NOT NULL,
    lookup              TEXT   NOT NULL,
    identity            TEXT   NOT NULL,
    repository_owner    TEXT   NOT NULL DEFAULT '',
    repository_owner_id TEXT   NOT NULL DEFAULT '',
    repository_name     TEXT   NOT NULL DEFAULT '',
    workflow_filename   TEXT   NOT NULL DEFAULT '',
    instance            TEXT   NOT NULL DEFAULT '',
    namespace           TEXT   NOT NULL DEFAULT '',
    gitlab_project      TEXT   NOT NULL DEFAULT '',
    ci_config_path      TEXT   NOT NULL DEFAULT '',
    email               TEXT   NOT NULL DEFAULT '',
    subject             TEXT   NOT NULL DEFAULT '',
    claim_rules         TEXT   NOT NULL DEFAULT '',
    environment         TEXT   NOT NULL DEFAULT '',
    pending_name        TEXT,
    pending_normalized  TEXT,
    added_by            INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX trusted_publishers_identity ON trusted_publishers (issuer, identity) WHERE pending_name IS NULL;
CREATE UNIQUE INDEX trusted_publishers_pending_identity ON trusted_publishers (issuer, identity) WHERE pending_name IS NOT NULL;
CREATE INDEX trusted_publishers_lookup ON trusted_publishers (issuer, kind, lookup);
CREATE INDEX trusted_publishers_added_by ON trusted_publishers (added_by) WHERE pending_name IS NOT NULL;
CREATE INDEX trusted_publishers_pending_normalized ON trusted_publishers (pending_normalized) WHERE pending_name IS NOT NULL;

-- Which projects a publisher uploads to (many to many, as on PyPI).
CREATE TABLE trusted_publisher_projects (
    publisher_id INTEGER NOT NULL REFERENCES trusted_publishers (id) ON DELETE CASCADE,
    project_id   INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (publisher_id, project_id)
);
CREATE INDEX trusted_publisher_projects_project ON trusted_publisher_projects (project_id);

-- The jti of every ID token exchanged, until it expires: inserted once,
-- so that a token replayed is refused on every replica sharing the
-- database (the primary key refuses the second insert).
CREATE TABLE oidc_jtis (
    issuer     TEXT   NOT NULL,
    jti        TEXT   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, jti)
);
CREATE INDEX oidc_jtis_expires ON oidc_jtis (expires_at);

-- A token minted by trusted publishing belongs to its publisher, not to a
-- user: user_id becomes NULL-able, publisher_id names the publisher (its
-- tokens go with it) and publisher_claims keeps, as JSON, the claims of
-- the ID token that events show (workflow, ref, sha). Exactly one of the
-- two owners is set. SQLite cannot drop NOT NULL, so the table is
-- rebuilt; dropping it would delete the scopes of api_token_projects (ON
-- DELETE CASCADE, as foreign keys are on): they are kept aside and put
-- back.
CREATE TABLE api_tokens_new (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER REFERENCES users (id) ON DELETE CASCADE,
    name             TEXT    NOT NULL,
    prefix           TEXT    NOT NULL,
    token_hash       TEXT    NOT NULL UNIQUE,
    scoped           BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at       BIGINT,
    last_used_at     BIGINT,
    created_at       BIGINT  NOT NULL,
    can_manage       BOOLEAN NOT NULL DEFAULT FALSE,
    publisher_id     INTEGER REFERENCES trusted_publishers (id) ON DELETE CASCADE,
    publisher_claims TEXT    NOT NULL DEFAULT '',
    CHECK ((user_id IS NULL) <> (publisher_id IS NULL))
);
INSERT INTO api_tokens_new (id, user_id, name, prefix, token_hash, scoped, expires_at, last_used_at, created_at, can_manage)
SELECT id, user_id, name, prefix, token_hash, scoped, expires_at, last_used_at, created_at, can_manage FROM api_tokens;
CREATE TEMP TABLE api_token_projects_kept AS SELECT * FROM api_token_projects;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_publisher ON api_tokens (publisher_id);
INSERT INTO api_token_projects (token_id, project_id) SELECT token_id, project_id FROM api_token_projects_kept;
DROP TABLE api_token_projects_kept;

-- +goose Down
DELETE FROM api_tokens WHERE user_id IS NULL;
CREATE TABLE api_tokens_old (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    prefix       TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    scoped       BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at   BIGINT,
    last_used_at BIGINT,
    created_at   BIGINT  NOT NULL,
    can_manage   BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO api_tokens_old (id, user_id, name, prefix, token_hash, scoped, expires_at, last_used_at, created_at, can_manage)
SELECT id, user_id, name, prefix, token_hash, scoped, expires_at, last_used_at, created_at, can_manage FROM api_tokens;
CREATE TEMP TABLE api_token_projects_kept AS SELECT * FROM api_token_projects;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_old RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (user_id);
INSERT INTO api_token_projects (token_id, project_id) SELECT token_id, project_id FROM api_token_projects_kept;
DROP TABLE api_token_projects_kept;
DROP TABLE oidc_jtis;
DROP TABLE trusted_publisher_projects;
DROP TABLE trusted_publishers;
