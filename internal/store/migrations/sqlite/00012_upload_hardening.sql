-- +goose Up
-- A release's description rendered once as safe HTML (at upload, or at
-- its first view for releases older than this column); NULL until then.
ALTER TABLE releases ADD COLUMN description_html TEXT;

-- Prohibited names block every name with the same ultranormalized form
-- (lower case, no '.', '_' or '-', l and i read as 1, o as 0), as
-- project names do among themselves. Normalized names are lower case
-- already, so the SQL below computes the form pep.UltraNormalizeName
-- gives for every valid (ASCII) project name.
ALTER TABLE prohibited_names ADD COLUMN ultranormalized_name TEXT NOT NULL DEFAULT '';
UPDATE prohibited_names SET ultranormalized_name =
    REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(normalized_name, '-', ''), '_', ''), '.', ''), 'l', '1'), 'i', '1'), 'o', '0');
CREATE INDEX prohibited_names_ultranormalized ON prohibited_names (ultranormalized_name);

-- +goose Down
DROP INDEX prohibited_names_ultranormalized;
ALTER TABLE prohibited_names DROP COLUMN ultranormalized_name;
ALTER TABLE releases DROP COLUMN description_html;
