ALTER TABLE inbox_items ADD COLUMN body TEXT NOT NULL DEFAULT '';
--bun:split
UPDATE inbox_items SET body = COALESCE((SELECT b.body FROM inbox_bodies b WHERE b.item_id = inbox_items.id), '');
--bun:split
DROP TABLE inbox_bodies;
