-- Images: what members upload (attachments and avatars) and the
-- attachments of remote posts. The files live in a blob store (a
-- directory under the data directory); a row says whose a file is, which
-- post shows it and where its files are.
CREATE TABLE media (
    id           BIGINT PRIMARY KEY,
    -- the uploader, or the remote author of the post it came with
    account_id   BIGINT NOT NULL REFERENCES accounts (id),
    -- the post that shows it; NULL for an upload its post does not have
    -- yet, and for avatars
    post_id      BIGINT REFERENCES posts (id),
    purpose      TEXT NOT NULL DEFAULT 'attachment',
    -- in use (attached to a post, or the account's avatar); an upload
    -- never attached is swept after a day
    attached     BOOLEAN NOT NULL DEFAULT FALSE,
    position     INTEGER NOT NULL DEFAULT 0,
    description  TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT '',
    -- blob keys; empty when the file is not stored here (a remote
    -- attachment not fetched yet, or evicted from the cache)
    file_key     TEXT NOT NULL DEFAULT '',
    width        INTEGER NOT NULL DEFAULT 0,
    height       INTEGER NOT NULL DEFAULT 0,
    thumb_key    TEXT NOT NULL DEFAULT '',
    thumb_width  INTEGER NOT NULL DEFAULT 0,
    thumb_height INTEGER NOT NULL DEFAULT 0,
    -- bytes stored (file and thumbnail), what the remote cache counts
    size         BIGINT NOT NULL DEFAULT 0,
    sensitive    BOOLEAN NOT NULL DEFAULT FALSE,
    blurhash     TEXT NOT NULL DEFAULT '',
    remote_url   TEXT NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    stored_at    TIMESTAMPTZ
);
--bun:split
CREATE INDEX media_post ON media (post_id, position) WHERE post_id IS NOT NULL;
--bun:split
CREATE INDEX media_account ON media (account_id, id);
--bun:split
CREATE INDEX media_unattached ON media (attached, created_at);
--bun:split
-- The remote cache evicts the copies stored longest ago first.
CREATE INDEX media_remote_stored ON media (stored_at) WHERE remote_url <> '' AND file_key <> '';
--bun:split

-- Files whose rows are gone (a deleted post or account, a removal, an
-- eviction), written in the transaction that dropped them; the sweeper
-- deletes the files, then these rows, so a crash between the two only
-- repeats a deletion.
CREATE TABLE media_trash (
    file_key   TEXT PRIMARY KEY,
    trashed_at TIMESTAMPTZ NOT NULL
);
--bun:split

-- How many attachments a post has: pages look attachments up only for
-- the posts that have some.
ALTER TABLE posts ADD COLUMN media_count INTEGER NOT NULL DEFAULT 0;
--bun:split

-- One-time tokens of the composer forms. The insert of a post records its
-- form's token in the same transaction, so a second submit of that form
-- finds the post instead of making another. A form that could not be
-- posted (the session ended, the thread was locked, a refusal) keeps its
-- fields here for a short while, bound to the token, so the member gets
-- their text back.
CREATE TABLE form_tokens (
    token_hash TEXT PRIMARY KEY,
    -- the member who sent it; 0 for a form a signed-out browser sent,
    -- until a member signs in and opens it
    account_id BIGINT NOT NULL DEFAULT 0,
    -- the site path the form posts to
    action     TEXT NOT NULL DEFAULT '',
    post_id    BIGINT,
    body_hash  TEXT NOT NULL DEFAULT '',
    -- a kept form's fields, URL-encoded, and why it was not posted
    fields     TEXT NOT NULL DEFAULT '',
    message    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX form_tokens_expiry ON form_tokens (expires_at);
--bun:split

-- The Latest page: recent threads across every forum.
CREATE INDEX threads_latest ON threads (last_post_id) WHERE deleted_at IS NULL;
