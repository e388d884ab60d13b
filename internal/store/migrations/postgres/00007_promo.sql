-- +goose Up
-- The security-key giveaway: promo codes imported by administrators, each
-- good for two keys. A claim assigns one unclaimed code to a user in one
-- statement; the partial unique index makes sure a user never holds two.
-- A claimed code is never returned to the stock (users are never deleted
-- while they hold one: the reference restricts it).
CREATE TABLE promo_codes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    imported_at BIGINT  NOT NULL,
    claimed_by  BIGINT REFERENCES users (id),
    claimed_at  BIGINT,
    country     TEXT,
    CHECK ((claimed_by IS NULL) = (claimed_at IS NULL))
);
CREATE UNIQUE INDEX promo_codes_claimed_by ON promo_codes (claimed_by) WHERE claimed_by IS NOT NULL;
CREATE INDEX promo_codes_unclaimed ON promo_codes (id) WHERE claimed_by IS NULL;

-- +goose Down
DROP TABLE promo_codes;
