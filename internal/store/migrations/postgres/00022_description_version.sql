-- +goose Up
-- The version of the description renderer (readme.Version) that made a
-- release's description_html. A rendering older than the running
-- renderer is made again at the release's next view and replaces the
-- stored one, so that a fix to the renderer (above all a security fix)
-- reaches every release. Renderings stored before this column are
-- version 1, older than any renderer that knows the column.
ALTER TABLE releases ADD COLUMN description_version INTEGER NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE releases DROP COLUMN description_version;
