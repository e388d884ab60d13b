-- +goose Up
-- The home page lists the most recently changed projects.
CREATE INDEX projects_last_serial ON projects (last_serial);

-- +goose Down
DROP INDEX projects_last_serial;
