DROP INDEX inbox_items_activity;
--bun:split
ALTER TABLE inbox_items DROP COLUMN activity_id;
