-- +goose Up
-- Every used filename also burns its canonical form (pep.FilenameKey:
-- normalized name and version, sorted tag sets, no build tag), so that a
-- spelling variant of a deleted file's name cannot be published again.
-- Rows written before this migration have no key until the server fills
-- it in at start (index.BackfillFilenameKeys). NULLs do not collide.
ALTER TABLE file_registry ADD COLUMN canonical_key TEXT;
CREATE UNIQUE INDEX file_registry_canonical_key ON file_registry (canonical_key);

-- Prohibited names block every name with the same ultranormalized form
-- (lower case, no '.', '_' or '-', l and i read as 1, o as 0), as
-- project names do among themselves. Normalized names are lower case
-- already, so the SQL below computes the form pep.UltraNormalizeName
-- gives for every valid (ASCII) project name.
ALTER TABLE prohibited_names ADD COLUMN ultranormalized_name TEXT NOT NULL DEFAULT '';
UPDATE prohibited_names SET ultranormalized_name =
    REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(normalized_name, '-', ''), '_', ''), '.', ''), 'l', '1'), 'i', '1'), 'o', '0');
CREATE INDEX prohibited_names_ultranormalized ON prohibited_names (ultranormalized_name);

-- A release's description rendered once as safe HTML (at upload, or at
-- its first view for releases older than this column); NULL until then.
ALTER TABLE releases ADD COLUMN description_html TEXT;

-- +goose Down
ALTER TABLE releases DROP COLUMN description_html;
DROP INDEX prohibited_names_ultranormalized;
ALTER TABLE prohibited_names DROP COLUMN ultranormalized_name;
DROP INDEX file_registry_canonical_key;
ALTER TABLE file_registry DROP COLUMN canonical_key;
