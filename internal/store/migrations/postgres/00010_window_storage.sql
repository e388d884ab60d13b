-- +goose Up
-- The daily computation updates most rows of download_window: leave room
-- in each page so the updates stay on their page (HOT) instead of moving
-- every row and its index entry. Vacuum downloads after each day's
-- inserts (autovacuum waits for a fraction of the table otherwise, and
-- index-only scans of the new day then visit the heap).
ALTER TABLE download_window SET (fillfactor = 50);
ALTER TABLE downloads SET (autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 1000000);

-- +goose Down
ALTER TABLE downloads RESET (autovacuum_vacuum_insert_scale_factor, autovacuum_vacuum_insert_threshold);
ALTER TABLE download_window RESET (fillfactor);
