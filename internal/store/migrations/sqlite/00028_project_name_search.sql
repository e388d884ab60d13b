-- +goose Up
-- Search finds the projects whose normalized name contains the query: a
-- LIKE '%q%' that no B-tree can serve, so it read every project (886k on
-- PyPI). An FTS5 index of trigrams over the normalized names (an
-- external-content table: it holds the index, not a copy of the names)
-- finds the candidates of a query of three characters or more; the
-- triggers keep it in step with the projects table.
CREATE VIRTUAL TABLE project_names USING fts5(
    normalized_name, content = 'projects', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO project_names (project_names) VALUES ('rebuild');

-- +goose StatementBegin
CREATE TRIGGER project_names_insert AFTER INSERT ON projects BEGIN
    INSERT INTO project_names (rowid, normalized_name) VALUES (new.id, new.normalized_name);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER project_names_delete AFTER DELETE ON projects BEGIN
    INSERT INTO project_names (project_names, rowid, normalized_name) VALUES ('delete', old.id, old.normalized_name);
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER project_names_update AFTER UPDATE OF normalized_name ON projects BEGIN
    INSERT INTO project_names (project_names, rowid, normalized_name) VALUES ('delete', old.id, old.normalized_name);
    INSERT INTO project_names (rowid, normalized_name) VALUES (new.id, new.normalized_name);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER project_names_update;
DROP TRIGGER project_names_delete;
DROP TRIGGER project_names_insert;
DROP TABLE project_names;
