-- +goose Up
-- SQLite, unlike PostgreSQL, lets a primary key other than INTEGER hold
-- NULL unless the column says NOT NULL (a legacy quirk kept for old
-- databases); these five keys did not say it. SQLite cannot add NOT NULL
-- to a column, so each table is rebuilt: create the new one, copy the
-- rows, drop the old one, rename, and recreate its indexes. Rows with a
-- NULL key cannot be reached by the code and are not copied.
--
-- Dropping sessions deletes its webauthn_challenges (ON DELETE CASCADE,
-- as foreign keys are on): they are kept aside and put back.

CREATE TABLE sessions_new (
    id_hash          TEXT    NOT NULL PRIMARY KEY,
    user_id          INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'active')),
    created_at       BIGINT  NOT NULL,
    last_seen_at     BIGINT  NOT NULL,
    expires_at       BIGINT  NOT NULL,
    authenticated_at BIGINT  NOT NULL,
    ip               TEXT    NOT NULL DEFAULT '',
    user_agent       TEXT    NOT NULL DEFAULT ''
);
INSERT INTO sessions_new (id_hash, user_id, state, created_at, last_seen_at, expires_at, authenticated_at, ip, user_agent)
SELECT id_hash, user_id, state, created_at, last_seen_at, expires_at, authenticated_at, ip, user_agent
FROM sessions WHERE id_hash IS NOT NULL;
CREATE TEMP TABLE webauthn_challenges_kept AS SELECT * FROM webauthn_challenges;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);
INSERT INTO webauthn_challenges (session_hash, purpose, data, expires_at)
SELECT session_hash, purpose, data, expires_at FROM webauthn_challenges_kept
WHERE session_hash IN (SELECT id_hash FROM sessions);
DROP TABLE webauthn_challenges_kept;

CREATE TABLE account_tokens_new (
    token_hash TEXT    NOT NULL PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    expires_at BIGINT  NOT NULL,
    created_at BIGINT  NOT NULL
);
INSERT INTO account_tokens_new (token_hash, user_id, purpose, email, expires_at, created_at)
SELECT token_hash, user_id, purpose, email, expires_at, created_at
FROM account_tokens WHERE token_hash IS NOT NULL;
DROP TABLE account_tokens;
ALTER TABLE account_tokens_new RENAME TO account_tokens;
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);

CREATE TABLE server_secrets_new (
    name       TEXT   NOT NULL PRIMARY KEY,
    value      TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO server_secrets_new (name, value, created_at)
SELECT name, value, created_at FROM server_secrets WHERE name IS NOT NULL;
DROP TABLE server_secrets;
ALTER TABLE server_secrets_new RENAME TO server_secrets;

CREATE TABLE file_registry_new (
    filename      TEXT   NOT NULL PRIMARY KEY,
    created_at    BIGINT NOT NULL,
    canonical_key TEXT
);
INSERT INTO file_registry_new (filename, created_at, canonical_key)
SELECT filename, created_at, canonical_key FROM file_registry WHERE filename IS NOT NULL;
DROP TABLE file_registry;
ALTER TABLE file_registry_new RENAME TO file_registry;
CREATE UNIQUE INDEX file_registry_canonical_key ON file_registry (canonical_key);

CREATE TABLE prohibited_names_new (
    normalized_name      TEXT   NOT NULL PRIMARY KEY,
    reason               TEXT   NOT NULL DEFAULT '',
    created_at           BIGINT NOT NULL,
    ultranormalized_name TEXT   NOT NULL DEFAULT ''
);
INSERT INTO prohibited_names_new (normalized_name, reason, created_at, ultranormalized_name)
SELECT normalized_name, reason, created_at, ultranormalized_name FROM prohibited_names WHERE normalized_name IS NOT NULL;
DROP TABLE prohibited_names;
ALTER TABLE prohibited_names_new RENAME TO prohibited_names;
CREATE INDEX prohibited_names_ultranormalized ON prohibited_names (ultranormalized_name);

-- +goose Down
-- NOT NULL keys are what 00001 and 00003 meant: nothing to undo.
SELECT 1;
