-- +goose Up
-- Accounts sign in to the web UI: verified email addresses, sessions kept
-- in the database (so that several servers share them), one-use links for
-- email verification and password resets, invitations to project roles,
-- security events, and rate-limit hits shared by every server.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN password_changed_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_login_at BIGINT;
CREATE UNIQUE INDEX users_email ON users (lower(email));

-- A session is known by the SHA-256 of its cookie; the cookie itself is
-- never stored. state is 'pending' between the password and the second
-- factor, 'active' once the user is signed in.
CREATE TABLE sessions (
    id_hash          TEXT    PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'active')),
    created_at       BIGINT  NOT NULL,
    last_seen_at     BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    authenticated_at BIGINT  NOT NULL,
    ip               TEXT    NOT NULL DEFAULT '',
    user_agent       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- One-use secrets sent by email (verify an address, reset a password),
-- stored as their SHA-256.
CREATE TABLE account_tokens (
    token_hash TEXT    PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    expires_at BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

CREATE TABLE role_invitations (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT    NOT NULL CHECK (role IN ('Owner', 'Maintainer')),
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    expires_at BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX role_invitations_user ON role_invitations (user_id);

-- Security events of users and projects. No foreign keys: the history
-- outlives a deleted project (project_name keeps its name).
CREATE TABLE events (
    id           INTEGER PRIMARY KEY,
    user_id      BIGINT,
    project_id   BIGINT,
    project_name TEXT    NOT NULL DEFAULT '',
    actor_id     BIGINT,
    tag          TEXT    NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT '',
    details      TEXT    NOT NULL DEFAULT '{}',
    created_at   BIGINT  NOT NULL
);
CREATE INDEX events_user ON events (user_id, id);
CREATE INDEX events_project ON events (project_id, id);

-- Failed attempts counted by rate limits (key: e.g. "login:user:42").
CREATE TABLE rate_limit_hits (
    id  INTEGER PRIMARY KEY,
    key TEXT   NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX rate_limit_hits_key ON rate_limit_hits (key, at);
CREATE INDEX rate_limit_hits_at ON rate_limit_hits (at);

-- Secrets shared by every server of a deployment (e.g. the key that
-- derives CSRF tokens), created once.
CREATE TABLE server_secrets (
    name       TEXT   PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE server_secrets;
DROP TABLE rate_limit_hits;
DROP TABLE events;
DROP TABLE role_invitations;
DROP TABLE account_tokens;
DROP TABLE sessions;
DROP INDEX users_email;
ALTER TABLE users DROP COLUMN last_login_at;
ALTER TABLE users DROP COLUMN password_changed_at;
ALTER TABLE users DROP COLUMN email_verified;
