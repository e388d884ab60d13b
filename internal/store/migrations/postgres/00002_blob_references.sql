-- +goose Up
-- Garbage collection of blobs asks whether a digest is a file's core metadata.
CREATE INDEX files_metadata_sha256 ON files (metadata_sha256);

-- +goose Down
DROP INDEX files_metadata_sha256;
