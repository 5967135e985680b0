-- The search index holds the live posts of live threads: a deleted
-- thread's posts leave it in the transaction that deletes the thread, so
-- a search need not look up each match's thread. This drops those of the
-- threads deleted before. The file is a Go template (see migrations.go).
{{if eq .Dialect "pg"}}
DELETE FROM post_search WHERE post_id IN (
    SELECT p.id FROM posts AS p JOIN threads AS t ON t.id = p.thread_id WHERE t.deleted_at IS NOT NULL);
{{else}}
DELETE FROM post_search WHERE rowid IN (
    SELECT p.id FROM posts AS p JOIN threads AS t ON t.id = p.thread_id WHERE t.deleted_at IS NOT NULL);
{{end}}
