-- +goose Up
-- Daily snapshots of the public two-factor figures (/stats/2fa), kept
-- forever: one row per UTC day (days since 1970-01-01), overwritten by
-- later snapshots of the same day. taken_at is unix microseconds.
CREATE TABLE stats_snapshots (
    day                   INTEGER PRIMARY KEY,
    users                 BIGINT  NOT NULL,
    users_2fa             BIGINT  NOT NULL,
    users_totp            BIGINT  NOT NULL,
    users_security_key    BIGINT  NOT NULL,
    critical_projects     BIGINT  NOT NULL,
    critical_users        BIGINT  NOT NULL,
    critical_users_2fa    BIGINT  NOT NULL,
    projects_2fa_required BIGINT  NOT NULL,
    promo_codes_claimed   BIGINT  NOT NULL,
    promo_codes_left      BIGINT  NOT NULL,
    taken_at              BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE stats_snapshots;
