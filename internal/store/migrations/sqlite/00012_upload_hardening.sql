-- +goose Up
-- A release's description rendered once as safe HTML (at upload, or at
-- its first view for releases older than this column); NULL until then.
ALTER TABLE releases ADD COLUMN description_html TEXT;

-- +goose Down
ALTER TABLE releases DROP COLUMN description_html;
