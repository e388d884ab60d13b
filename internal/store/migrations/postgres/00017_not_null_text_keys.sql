-- +goose Up
-- SQLite's 00017 makes five text primary keys NOT NULL, as PostgreSQL's
-- primary keys always are. This keeps the two histories in step.
SELECT 1;

-- +goose Down
SELECT 1;
