-- A table with its text again. The contentless index cannot give its
-- text back, so the live posts of live threads in listed forums are
-- indexed from the posts, as the index was first filled
-- (20261126000010_web_view): their source, or their HTML, after their
-- content warning when they have one, as storage indexes a post.
{{if ne .Dialect "pg"}}
DROP TABLE post_search;
--bun:split
CREATE VIRTUAL TABLE post_search USING fts5 (
    title, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
--bun:split
INSERT INTO post_search (rowid, title, body)
SELECT p.id, CASE WHEN p.position = 1 THEN t.title ELSE '' END,
       CASE WHEN p.summary <> '' THEN p.summary || ' ' ELSE '' END ||
       CASE WHEN p.source <> '' THEN p.source ELSE p.html END
FROM posts p JOIN threads t ON t.id = p.thread_id JOIN forums f ON f.id = t.forum_id
WHERE p.deleted_at IS NULL AND t.deleted_at IS NULL AND NOT f.hidden;
--bun:split
INSERT INTO post_search(post_search, rank) VALUES('usermerge', 2);
{{end}}
