-- An inbox item's body (the activity as received, about 2.5 KB for a
-- Mastodon Create) moves to a table of its own, written once when the
-- POST is accepted. The queue row that a claim leases and a finish marks
-- done is then a short row of ids, times and state, many to a page,
-- instead of one page per activity that intake, claim and finish each
-- wrote again. Deleting an item deletes its body.
-- The file is a Go template (see migrations.go): on SQLite an INTEGER
-- PRIMARY KEY is the row id itself, so a body is one b-tree entry.
{{if eq .Dialect "pg"}}
CREATE TABLE inbox_bodies (
    item_id BIGINT PRIMARY KEY REFERENCES inbox_items (id) ON DELETE CASCADE,
    body    TEXT NOT NULL
);
{{else}}
CREATE TABLE inbox_bodies (
    item_id INTEGER PRIMARY KEY REFERENCES inbox_items (id) ON DELETE CASCADE,
    body    TEXT NOT NULL
);
{{end}}
--bun:split
INSERT INTO inbox_bodies (item_id, body) SELECT id, body FROM inbox_items;
--bun:split
ALTER TABLE inbox_items DROP COLUMN body;
