-- The search index holds the posts of listed forums only: the hidden
-- forum that holds mirrors of remote threads is left out of search as it
-- is left out of every listing. This drops the documents of its posts.
-- On SQLite it also lets an explicit 'merge' (the node's idle upkeep,
-- Store.MergeSearchIndex) merge any level holding two segments, so an
-- idle index ends with about one segment per level: every segment costs
-- each search a seek per term. Writes keep FTS5's own automerge (4).
-- The file is a Go template (see migrations.go).
{{if eq .Dialect "pg"}}
DELETE FROM post_search WHERE post_id IN (
    SELECT p.id FROM posts AS p JOIN threads AS t ON t.id = p.thread_id JOIN forums AS f ON f.id = t.forum_id WHERE f.hidden);
{{else}}
DELETE FROM post_search WHERE rowid IN (
    SELECT p.id FROM posts AS p JOIN threads AS t ON t.id = p.thread_id JOIN forums AS f ON f.id = t.forum_id WHERE f.hidden);
--bun:split
INSERT INTO post_search(post_search, rank) VALUES('usermerge', 2);
{{end}}
