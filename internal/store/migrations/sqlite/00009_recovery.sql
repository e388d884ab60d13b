-- +goose Up
-- Account recovery requests of users who lost every second factor. A
-- request is 'pending-confirmation' until its user follows the link
-- emailed to the account's address, then 'waiting' (the waiting period
-- runs from confirmed_at), until an administrator approves or rejects it
-- (decided_at, decided_by); the user may cancel it before. An unconfirmed
-- request whose link ran out is 'expired'. Times are unix microseconds.
CREATE TABLE recovery_requests (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state        TEXT   NOT NULL CHECK (state IN ('pending-confirmation', 'waiting', 'approved', 'rejected', 'cancelled', 'expired')),
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    decided_at   BIGINT,
    decided_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    reason       TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX recovery_requests_user ON recovery_requests (user_id, state);
CREATE INDEX recovery_requests_state ON recovery_requests (state, created_at);

-- +goose Down
DROP TABLE recovery_requests;
