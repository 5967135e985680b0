-- Inbox items say what they are: an activity a remote server POSTed, or
-- a job of the node's own (a replies backfill, one page of a mirror's
-- context walk). Before, a job was an item with an empty key_id, told
-- apart by the type in its body.
ALTER TABLE inbox_items ADD COLUMN kind TEXT NOT NULL DEFAULT 'activity';
--bun:split
UPDATE inbox_items SET kind = 'context_walk' WHERE key_id = '' AND body LIKE '{"type":"skein:ContextWalk"%';
--bun:split
UPDATE inbox_items SET kind = 'backfill' WHERE key_id = '' AND kind = 'activity';
