-- The web view's additions: page versions for the guest page cache, read
-- positions for unread markers, full-text search, and an index for the
-- forums' feeds. Search differs per dialect, so this file is a Go
-- template: .Dialect is "sqlite" or "pg" (see migrations.go).

-- Every change that alters what a thread page (or a forum's thread list)
-- shows bumps the row's version in the same transaction; the guest page
-- cache keys pages by it, so it never serves a page from before a change,
-- whichever process made the change.
ALTER TABLE threads ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE forums ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
--bun:split

-- The highest post position a member has seen in a thread.
CREATE TABLE thread_reads (
    account_id    BIGINT NOT NULL REFERENCES accounts (id),
    thread_id     BIGINT NOT NULL REFERENCES threads (id),
    last_position BIGINT NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, thread_id)
);
--bun:split

-- Feeds list a forum's newest threads.
CREATE INDEX threads_forum_id ON threads (forum_id, id);
--bun:split

-- One search document per live post: its text, and the thread's title on
-- the thread's first post, so a title matches once, not once per reply.
-- storage keeps it in step in the transaction that writes the post.
{{if eq .Dialect "pg"}}
CREATE TABLE post_search (
    post_id  BIGINT PRIMARY KEY,
    title    TEXT NOT NULL DEFAULT '',
    body     TEXT NOT NULL DEFAULT '',
    document TSVECTOR GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', body), 'B')
    ) STORED
);
--bun:split
CREATE INDEX post_search_document ON post_search USING GIN (document);
--bun:split
INSERT INTO post_search (post_id, title, body)
SELECT p.id, CASE WHEN p.position = 1 THEN t.title ELSE '' END,
       CASE WHEN p.source <> '' THEN p.source ELSE p.html END
FROM posts p JOIN threads t ON t.id = p.thread_id
WHERE p.deleted_at IS NULL;
{{else}}
-- FTS5 with the post id as rowid; porter stems English words as
-- PostgreSQL's 'english' configuration does.
CREATE VIRTUAL TABLE post_search USING fts5 (
    title, body, tokenize = 'porter unicode61 remove_diacritics 2'
);
--bun:split
INSERT INTO post_search (rowid, title, body)
SELECT p.id, CASE WHEN p.position = 1 THEN t.title ELSE '' END,
       CASE WHEN p.source <> '' THEN p.source ELSE p.html END
FROM posts p JOIN threads t ON t.id = p.thread_id
WHERE p.deleted_at IS NULL;
{{end}}
