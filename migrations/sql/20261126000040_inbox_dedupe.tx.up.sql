-- The id of the activity an inbox item carries, so a replay of an
-- activity already queued (a retry, or the same Create posted to several
-- members' inboxes) is stored once. Items without an id keep ''.
ALTER TABLE inbox_items ADD COLUMN activity_id TEXT NOT NULL DEFAULT '';
--bun:split
CREATE UNIQUE INDEX inbox_items_activity ON inbox_items (activity_id) WHERE activity_id <> '';
