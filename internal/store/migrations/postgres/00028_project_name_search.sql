-- +goose Up
-- Search finds the projects whose normalized name contains the query: a
-- LIKE '%q%' that no B-tree can serve, so it read every project (886k on
-- PyPI). A GIN index of trigrams (pg_trgm, a trusted extension that
-- the database's owner may create) serves such a LIKE directly for a
-- query of three characters or more; the planner still walks the name
-- index in order when a query matches so many names that the first page
-- comes sooner that way.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX projects_normalized_name_trgm ON projects USING gin (normalized_name gin_trgm_ops);

-- +goose Down
DROP INDEX projects_normalized_name_trgm;
DROP EXTENSION IF EXISTS pg_trgm;
