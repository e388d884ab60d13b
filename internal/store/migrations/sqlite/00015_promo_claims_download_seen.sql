-- +goose Up
-- The giveaway counts the claims made through each critical project, so
-- that an operator can cap them per project (--promo-per-project): one
-- Owner cannot farm codes with puppet accounts. A claim names the critical
-- project through which its user was eligible; the claims made before
-- this migration are given the first critical project on which their user
-- still holds a role (none: they count for no project).
CREATE TABLE promo_claim_projects (
    code_id    INTEGER NOT NULL PRIMARY KEY REFERENCES promo_codes (id) ON DELETE CASCADE,
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE
);
CREATE INDEX promo_claim_projects_project ON promo_claim_projects (project_id);
INSERT INTO promo_claim_projects (code_id, project_id)
SELECT c.id, (SELECT MIN(r.project_id) FROM roles r JOIN projects p ON p.id = r.project_id
              WHERE r.user_id = c.claimed_by AND p.critical_since IS NOT NULL)
FROM promo_codes c
WHERE c.claimed_by IS NOT NULL AND EXISTS (SELECT 1 FROM roles r JOIN projects p ON p.id = r.project_id
                                           WHERE r.user_id = c.claimed_by AND p.critical_since IS NOT NULL);

-- The per-address limit of imported downloads (--downloads-per-address)
-- holds across imports: how many lines of downloads the imports saw per
-- client address, project and UTC day. The address and the project are
-- not stored, only addr_key, the first 8 bytes of an HMAC-SHA-256 of
-- both under a deployment-wide secret (server_secrets). The imports
-- delete the rows of days more than 400 days old.
CREATE TABLE download_seen (
    day      INTEGER NOT NULL,
    addr_key BIGINT  NOT NULL,
    lines    BIGINT  NOT NULL,
    PRIMARY KEY (day, addr_key)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE download_seen;
DROP TABLE promo_claim_projects;
