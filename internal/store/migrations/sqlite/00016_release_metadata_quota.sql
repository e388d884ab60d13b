-- +goose Up
-- A release's stored metadata (its core metadata as JSON, and its rendered
-- description) counts toward its project's size limit, as its files do:
-- a small compressed upload can carry megabytes of metadata. Projects are
-- charged for the releases they have.
UPDATE projects SET total_size = total_size + (
    SELECT COALESCE(SUM(octet_length(metadata_json) + COALESCE(octet_length(description_html), 0)), 0)
    FROM releases WHERE releases.project_id = projects.id);

-- +goose Down
UPDATE projects SET total_size = total_size - (
    SELECT COALESCE(SUM(octet_length(metadata_json) + COALESCE(octet_length(description_html), 0)), 0)
    FROM releases WHERE releases.project_id = projects.id);
