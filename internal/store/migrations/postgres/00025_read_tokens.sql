-- +goose Up
-- Read-only API tokens (read_only): they read the index (pip, uv, a CI's
-- installs from a private index) and do nothing else: no upload, no
-- management. Every token made before uploads, and reads too.
ALTER TABLE api_tokens ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN read_only;
