-- +goose Up
-- API tokens upload, nothing more, unless created with the management
-- scope (can_manage): the management API (yank, roles, invitations) is
-- then open to them too, within their projects. Tokens made before
-- become upload-only. No token ever creates, lists or revokes tokens.
ALTER TABLE api_tokens ADD COLUMN can_manage BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE api_tokens DROP COLUMN can_manage;
