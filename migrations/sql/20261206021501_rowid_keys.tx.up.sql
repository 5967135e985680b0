-- On SQLite a BIGINT PRIMARY KEY is not the row id: the table is keyed
-- by a hidden row id and the primary key is a unique index beside it, a
-- b-tree more to write for every post and outbox event and a second seek
-- for every read by id. An INTEGER PRIMARY KEY is the row id itself, so
-- posts and outbox_events are rebuilt with one; the columns, values and
-- other indexes stay as they were. PostgreSQL keeps its tables: the file
-- is a Go template (see migrations.go).
--
-- Likes, reports and media reference posts. Dropping posts, as a rebuild
-- must, counts their rows as orphans; with the foreign keys deferred to
-- the commit, inserting the rows again into the new posts table counts
-- each orphan found again, so the commit sees none. Hence the copy
-- instead of a rename: renaming posts would carry the references to the
-- old table.
{{if ne .Dialect "pg"}}
PRAGMA defer_foreign_keys = ON;
--bun:split
CREATE TABLE posts_copy AS SELECT * FROM posts;
--bun:split
DROP TABLE posts;
--bun:split
CREATE TABLE posts (
    id           INTEGER PRIMARY KEY,
    thread_id    BIGINT NOT NULL REFERENCES threads (id),
    author_id    BIGINT NOT NULL REFERENCES accounts (id),
    position     BIGINT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',
    html         TEXT NOT NULL DEFAULT '',
    reply_to_id  BIGINT,
    quote_id     BIGINT,
    like_count   BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    edited_at    TIMESTAMPTZ,
    deleted_at   TIMESTAMPTZ,
    ap_id        TEXT,
    url          TEXT NOT NULL DEFAULT '',
    summary      TEXT NOT NULL DEFAULT '',
    sensitive    BOOLEAN NOT NULL DEFAULT FALSE,
    lead_from    INTEGER NOT NULL DEFAULT 0,
    lead_to      INTEGER NOT NULL DEFAULT 0,
    media_count  INTEGER NOT NULL DEFAULT 0
);
--bun:split
INSERT INTO posts (id, thread_id, author_id, position, source, html, reply_to_id, quote_id, like_count, created_at,
    edited_at, deleted_at, ap_id, url, summary, sensitive, lead_from, lead_to, media_count)
SELECT id, thread_id, author_id, position, source, html, reply_to_id, quote_id, like_count, created_at,
    edited_at, deleted_at, ap_id, url, summary, sensitive, lead_from, lead_to, media_count
FROM posts_copy ORDER BY id;
--bun:split
DROP TABLE posts_copy;
--bun:split
CREATE UNIQUE INDEX posts_thread_position ON posts (thread_id, position);
--bun:split
CREATE INDEX posts_author ON posts (author_id, id);
--bun:split
CREATE UNIQUE INDEX posts_ap_id ON posts (ap_id);
--bun:split
CREATE TABLE outbox_events_new (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,
    account_id    BIGINT NOT NULL DEFAULT 0,
    post_id       BIGINT NOT NULL DEFAULT 0,
    thread_id     BIGINT NOT NULL DEFAULT 0,
    forum_id      BIGINT NOT NULL DEFAULT 0,
    created_at    TIMESTAMPTZ NOT NULL,
    processed_at  TIMESTAMPTZ,
    report_id     BIGINT NOT NULL DEFAULT 0,
    from_forum_id BIGINT NOT NULL DEFAULT 0
);
--bun:split
INSERT INTO outbox_events_new (id, kind, account_id, post_id, thread_id, forum_id, created_at, processed_at, report_id, from_forum_id)
SELECT id, kind, account_id, post_id, thread_id, forum_id, created_at, processed_at, report_id, from_forum_id
FROM outbox_events ORDER BY id;
--bun:split
DROP TABLE outbox_events;
--bun:split
ALTER TABLE outbox_events_new RENAME TO outbox_events;
--bun:split
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE processed_at IS NULL;
--bun:split
CREATE INDEX outbox_events_likes ON outbox_events (account_id, post_id, id) WHERE kind = 'like.create';
{{end}}
