-- +goose Up
-- The names that new projects must not imitate: the operator's imported
-- list (source 'import', e.g. the public index's most-downloaded
-- projects); this index's own most-downloaded projects are read from
-- download_window, not copied here. rank 1 is the most popular.
CREATE TABLE protected_names (
    name   TEXT   NOT NULL PRIMARY KEY,
    rank   BIGINT NOT NULL,
    source TEXT   NOT NULL
);

-- A project created under a look-alike of a protected name, waiting for
-- an administrator's review: held (kept out of the index until approved)
-- or only flagged (published). Approval deletes the row.
CREATE TABLE name_reviews (
    project_id  INTEGER PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    target      TEXT    NOT NULL,
    target_rank BIGINT  NOT NULL,
    kind        TEXT    NOT NULL,
    held        BOOLEAN NOT NULL,
    uploader_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  BIGINT  NOT NULL
);

-- +goose Down
DROP TABLE name_reviews;
DROP TABLE protected_names;
