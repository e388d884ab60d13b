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
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    added_by            BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at          BIGINT NOT NULL
);
CREATE UNIQUE INDEX trusted_publishers_identity ON trusted_publishers (issuer, identity) WHERE pending_name IS NULL;
CREATE UNIQUE INDEX trusted_publishers_pending_identity ON trusted_publishers (issuer, identity) WHERE pending_name IS NOT NULL;
CREATE INDEX trusted_publishers_lookup ON trusted_publishers (issuer, kind, lookup);
CREATE INDEX trusted_publishers_added_by ON trusted_publishers (added_by) WHERE pending_name IS NOT NULL;
CREATE INDEX trusted_publishers_pending_normalized ON trusted_publishers (pending_normalized) WHERE pending_name IS NOT NULL;

-- Which projects a publisher uploads to (many to many, as on PyPI).
CREATE TABLE trusted_publisher_projects (
    publisher_id BIGINT NOT NULL REFERENCES trusted_publishers (id) ON DELETE CASCADE,
    project_id   BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
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
-- two owners is set.
ALTER TABLE api_tokens ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE api_tokens ADD COLUMN publisher_id BIGINT REFERENCES trusted_publishers (id) ON DELETE CASCADE;
ALTER TABLE api_tokens ADD COLUMN publisher_claims TEXT NOT NULL DEFAULT '';
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_owner CHECK ((user_id IS NULL) <> (publisher_id IS NULL));
CREATE INDEX api_tokens_publisher ON api_tokens (publisher_id);

-- +goose Down
DELETE FROM api_tokens WHERE user_id IS NULL;
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_owner;
DROP INDEX api_tokens_publisher;
ALTER TABLE api_tokens DROP COLUMN publisher_claims;
ALTER TABLE api_tokens DROP COLUMN publisher_id;
ALTER TABLE api_tokens ALTER COLUMN user_id SET NOT NULL;
DROP TABLE oidc_jtis;
DROP TABLE trusted_publisher_projects;
DROP TABLE trusted_publishers;
