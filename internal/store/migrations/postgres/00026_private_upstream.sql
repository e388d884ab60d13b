-- +goose Up
-- Per-project visibility on a public index: 'public' (anyone reads it)
-- or 'private' (only its collaborators, administrators and tokens scoped
-- to it read it; everyone else gets 404). Go enforces the two values.
ALTER TABLE projects ADD COLUMN visibility TEXT NOT NULL DEFAULT 'public';
CREATE INDEX projects_private ON projects (id) WHERE visibility = 'private';

-- The proxy of upstream indexes (--upstream): one row per name asked of
-- the upstreams, found or not (a negative entry, until checked_at plus
-- the negative TTL). upstream is the pinned upstream (its redacted URL):
-- a project is served from exactly one source. local_status overrides
-- the upstream's own status ('' or 'quarantined', by an administrator).
CREATE TABLE upstream_projects (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    normalized_name        TEXT    NOT NULL UNIQUE,
    name                   TEXT    NOT NULL,
    upstream               TEXT    NOT NULL DEFAULT '',
    found                  BOOLEAN NOT NULL,
    etag                   TEXT    NOT NULL DEFAULT '',
    last_modified          TEXT    NOT NULL DEFAULT '',
    upstream_status        TEXT    NOT NULL DEFAULT 'active',
    upstream_status_reason TEXT    NOT NULL DEFAULT '',
    local_status           TEXT    NOT NULL DEFAULT '',
    local_status_reason    TEXT    NOT NULL DEFAULT '',
    local_status_at        BIGINT,
    fetched_at             BIGINT,
    checked_at             BIGINT  NOT NULL,
    created_at             BIGINT  NOT NULL
);

-- The files an upstream lists for a proxied project, as checked by
-- internal/upstream (a distribution of the project, an allowed URL, a
-- SHA-256). stored_at is set once the file was fetched, verified and
-- put in the blob store (metadata_stored_at for its PEP 658 metadata);
-- removed_at once the upstream stopped listing it. size NULL: unknown;
-- upload_time NULL: the upstream gave none (hidden under a minimum age).
CREATE TABLE upstream_files (
    sha256              TEXT    NOT NULL PRIMARY KEY,
    upstream_project_id BIGINT NOT NULL REFERENCES upstream_projects (id) ON DELETE CASCADE,
    filename            TEXT    NOT NULL UNIQUE,
    url                 TEXT    NOT NULL,
    version             TEXT    NOT NULL,
    size                BIGINT,
    requires_python     TEXT    NOT NULL DEFAULT '',
    yanked              BOOLEAN NOT NULL DEFAULT FALSE,
    yanked_reason       TEXT    NOT NULL DEFAULT '',
    metadata_sha256     TEXT,
    upload_time         BIGINT,
    first_seen_at       BIGINT  NOT NULL,
    removed_at          BIGINT,
    stored_at           BIGINT,
    metadata_stored_at  BIGINT,
    last_served_at      BIGINT
);
CREATE INDEX upstream_files_project ON upstream_files (upstream_project_id);
CREATE INDEX upstream_files_metadata ON upstream_files (metadata_sha256) WHERE metadata_stored_at IS NOT NULL;

-- An administrator's rules on upstream names: pattern is a normalized
-- name or a prefix pattern ('acme-*'); action 'allow' (proxied; with
-- skip_min_age, a break glass of the minimum release age, names only),
-- 'deny' (never proxied) or 'local' (a local project may take the name).
CREATE TABLE upstream_rules (
    pattern      TEXT    NOT NULL PRIMARY KEY,
    action       TEXT    NOT NULL,
    skip_min_age BOOLEAN NOT NULL DEFAULT FALSE,
    reason       TEXT    NOT NULL DEFAULT '',
    created_by   BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT
);

-- Downloads of proxied files per upstream project per UTC day, as the
-- downloads table counts local ones.
CREATE TABLE upstream_downloads (
    upstream_project_id BIGINT NOT NULL REFERENCES upstream_projects (id) ON DELETE CASCADE,
    day                 INTEGER NOT NULL,
    downloads           BIGINT  NOT NULL,
    PRIMARY KEY (upstream_project_id, day)
);

-- +goose Down
DROP TABLE upstream_downloads;
DROP TABLE upstream_rules;
DROP TABLE upstream_files;
DROP TABLE upstream_projects;
DROP INDEX projects_private;
ALTER TABLE projects DROP COLUMN visibility;
