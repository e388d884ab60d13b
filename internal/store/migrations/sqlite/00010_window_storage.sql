-- +goose Up
-- PostgreSQL's 00010 tunes the storage of download_window and downloads;
-- SQLite has no such settings. This keeps the two histories in step.
SELECT 1;

-- +goose Down
SELECT 1;
