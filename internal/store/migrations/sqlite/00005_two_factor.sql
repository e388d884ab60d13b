-- +goose Up
-- Second factors: an authenticator app (TOTP; its secret sealed with
-- AES-GCM under a key that is not in the database), security keys
-- (WebAuthn; the whole credential kept as JSON), and single-use recovery
-- codes (argon2id hashes). totp_last_step is the replay guard: a code at
-- or before the last accepted time step is refused.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN totp_enabled_at BIGINT;
-- Set once the user proved it saved its recovery codes by typing one back.
ALTER TABLE users ADD COLUMN recovery_codes_confirmed BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE security_keys (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    label         TEXT    NOT NULL,
    credential_id TEXT    NOT NULL UNIQUE,
    public_key    TEXT    NOT NULL UNIQUE,
    credential    TEXT    NOT NULL,
    sign_count    BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    UNIQUE (user_id, label)
);

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- WebAuthn ceremonies in progress: the challenge's session data, kept
-- whole, bound to the web session, taken once, and expiring.
CREATE TABLE webauthn_challenges (
    session_hash TEXT   NOT NULL REFERENCES sessions (id_hash) ON DELETE CASCADE,
    purpose      TEXT   NOT NULL,
    data         TEXT   NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (session_hash, purpose)
);

-- +goose Down
DROP TABLE webauthn_challenges;
DROP TABLE recovery_codes;
DROP TABLE security_keys;
ALTER TABLE users DROP COLUMN recovery_codes_confirmed;
ALTER TABLE users DROP COLUMN totp_enabled_at;
ALTER TABLE users DROP COLUMN totp_last_step;
ALTER TABLE users DROP COLUMN totp_secret;
