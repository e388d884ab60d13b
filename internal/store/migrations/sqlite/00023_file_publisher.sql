-- +goose Up
-- Who published a file through trusted publishing, kept with the file
-- for the JSON API and the project's pages. publisher_id names the
-- publisher while it exists (NULL once it is removed, or for a file
-- uploaded with a user's token); trusted_publisher is a JSON snapshot of
-- the publisher and of the workflow run taken at the upload (kind,
-- repository, workflow, ref, sha, a description), so that the record
-- outlives the publisher and a later change to it. '' for a file not
-- published by a trusted publisher.
ALTER TABLE files ADD COLUMN publisher_id INTEGER REFERENCES trusted_publishers (id) ON DELETE SET NULL;
ALTER TABLE files ADD COLUMN trusted_publisher TEXT NOT NULL DEFAULT '';
CREATE INDEX files_publisher ON files (publisher_id) WHERE publisher_id IS NOT NULL;

-- +goose Down
DROP INDEX files_publisher;
ALTER TABLE files DROP COLUMN trusted_publisher;
ALTER TABLE files DROP COLUMN publisher_id;
