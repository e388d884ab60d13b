-- +goose Up
-- One row that /readyz rewrites to prove the database takes writes (not
-- only reads): a locked, full or read-only database fails the probe.
-- checked_at is when it last did, in unix microseconds.
CREATE TABLE readiness_probe (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at BIGINT  NOT NULL
);
INSERT INTO readiness_probe (id, checked_at) VALUES (1, 0);

-- +goose Down
DROP TABLE readiness_probe;
