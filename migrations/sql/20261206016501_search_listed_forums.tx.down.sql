-- Index the live posts of the hidden forum's live threads again, as the
-- index was first filled (20261126000010_web_view).
{{if eq .Dialect "pg"}}
INSERT INTO post_search (post_id, title, body)
SELECT p.id, CASE WHEN p.position = 1 THEN t.title ELSE '' END,
       CASE WHEN p.source <> '' THEN p.source ELSE p.html END
FROM posts p JOIN threads t ON t.id = p.thread_id JOIN forums f ON f.id = t.forum_id
WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND f.hidden
ON CONFLICT (post_id) DO NOTHING;
{{else}}
INSERT INTO post_search (rowid, title, body)
SELECT p.id, CASE WHEN p.position = 1 THEN t.title ELSE '' END,
       CASE WHEN p.source <> '' THEN p.source ELSE p.html END
FROM posts p JOIN threads t ON t.id = p.thread_id JOIN forums f ON f.id = t.forum_id
WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND f.hidden;
--bun:split
INSERT INTO post_search(post_search, rank) VALUES('usermerge', 4);
{{end}}
