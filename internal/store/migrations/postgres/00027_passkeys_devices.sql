-- +goose Up
-- Passkeys: a security key registered as a discoverable credential with
-- user verification signs in alone (no username, no password). The
-- authenticator's flags are kept as columns, beside the whole credential
-- record (which the WebAuthn library checks at every sign-in): whether
-- the key is discoverable (a passkey), verified its user at registration,
-- may be backed up (synced passkeys: backup_eligible never changes for a
-- credential) and is backed up now (backup_state, updated at each use).
ALTER TABLE security_keys ADD COLUMN discoverable BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE security_keys ADD COLUMN user_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE security_keys ADD COLUMN backup_eligible BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE security_keys ADD COLUMN backup_state BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE security_keys SET
    user_verified = COALESCE((credential::jsonb #>> '{flags,userVerified}')::boolean, FALSE),
    backup_eligible = COALESCE((credential::jsonb #>> '{flags,backupEligible}')::boolean, FALSE),
    backup_state = COALESCE((credential::jsonb #>> '{flags,backupState}')::boolean, FALSE);

-- The ceremony state of a passkey sign-in, which has no session yet:
-- keyed by the SHA-256 of a random cookie, taken once, swept when
-- expired.
CREATE TABLE passkey_challenges (
    id_hash    TEXT   NOT NULL PRIMARY KEY,
    data       TEXT   NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);

-- Sessions: how each signed in (auth_method: password, totp, webauthn,
-- passkey, recovery-code), for the sessions page; and, for a pending
-- session, what it waits for (awaiting: '' the second factor, 'device'
-- the emailed confirmation of a new device, whose link secret's SHA-256
-- is confirm_hash).
ALTER TABLE sessions ADD COLUMN auth_method TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN awaiting TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN confirm_hash TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_confirm ON sessions (confirm_hash) WHERE confirm_hash <> '';

-- Browsers a user has signed in from and confirmed: device_hash is an
-- HMAC, under the deployment's secret, of the user id and the browser's
-- random device id (its device cookie), so that a device cookie proves
-- nothing for another account and the table cannot be turned back into
-- cookies.
CREATE TABLE known_devices (
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    device_hash  TEXT   NOT NULL,
    ip           TEXT   NOT NULL DEFAULT '',
    user_agent   TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_hash)
);
CREATE INDEX known_devices_seen ON known_devices (last_seen_at);

-- Email domains an operator refuses or allows, beyond the embedded list
-- of disposable domains: kind 'disposable' (added to that list),
-- 'prohibited' (refused for any reason the operator gives) or 'allowed'
-- (taken out of the embedded list).
CREATE TABLE email_domains (
    domain     TEXT   NOT NULL PRIMARY KEY,
    kind       TEXT   NOT NULL,
    reason     TEXT   NOT NULL DEFAULT '',
    created_by BIGINT REFERENCES users (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE email_domains;
DROP TABLE known_devices;
DROP INDEX sessions_confirm;
ALTER TABLE sessions DROP COLUMN confirm_hash;
ALTER TABLE sessions DROP COLUMN awaiting;
ALTER TABLE sessions DROP COLUMN auth_method;
DROP TABLE passkey_challenges;
ALTER TABLE security_keys DROP COLUMN backup_state;
ALTER TABLE security_keys DROP COLUMN backup_eligible;
ALTER TABLE security_keys DROP COLUMN user_verified;
ALTER TABLE security_keys DROP COLUMN discoverable;
