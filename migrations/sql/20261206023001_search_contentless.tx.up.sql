-- On SQLite the search index keeps no copy of the text it indexes. An
-- FTS5 table stores every document twice: the terms, and the text
-- itself in a content table beside them, which nothing reads (a search
-- lists ids and reads its page's posts from posts). A contentless table
-- (content='') keeps the terms only; contentless_delete=1 lets a post's
-- document be deleted or replaced by its id, as before. Writing a post
-- then writes one b-tree fewer, and the database loses a second copy of
-- every post's text.
--
-- The terms are rebuilt from the old table's text, in one pass with the
-- incremental merges off and one merge at the end (FTS5's 'optimize'),
-- so the new index is one segment. On a large forum this takes a while:
-- see docs/operations.md. PostgreSQL keeps its table: the file is a Go
-- template (see migrations.go).
{{if ne .Dialect "pg"}}
CREATE VIRTUAL TABLE post_search_terms USING fts5 (
    title, body, content = '', contentless_delete = 1,
    tokenize = 'porter unicode61 remove_diacritics 2'
);
--bun:split
INSERT INTO post_search_terms(post_search_terms, rank) VALUES('automerge', 0);
--bun:split
INSERT INTO post_search_terms (rowid, title, body) SELECT rowid, title, body FROM post_search ORDER BY rowid;
--bun:split
INSERT INTO post_search_terms(post_search_terms) VALUES('optimize');
--bun:split
INSERT INTO post_search_terms(post_search_terms, rank) VALUES('automerge', 4);
--bun:split
INSERT INTO post_search_terms(post_search_terms, rank) VALUES('usermerge', 2);
--bun:split
DROP TABLE post_search;
--bun:split
ALTER TABLE post_search_terms RENAME TO post_search;
{{end}}
