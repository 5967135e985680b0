-- Skein's first schema. One file serves SQLite and PostgreSQL: ids are
-- BIGINT chosen by the application, times are TIMESTAMPTZ (SQLite stores
-- bun's text form), booleans are BOOLEAN (0/1 on SQLite).

CREATE TABLE accounts (
    id             BIGINT PRIMARY KEY,
    handle         TEXT NOT NULL,
    domain         TEXT NOT NULL DEFAULT '',
    display_name   TEXT NOT NULL DEFAULT '',
    bio            TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL DEFAULT 'member',
    email          TEXT NOT NULL DEFAULT '',
    password_hash  TEXT NOT NULL DEFAULT '',
    reputation     BIGINT NOT NULL DEFAULT 0,
    post_count     BIGINT NOT NULL DEFAULT 0,
    suspended      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL,
    ap_id          TEXT,
    actor_type     TEXT NOT NULL DEFAULT 'Person',
    inbox          TEXT NOT NULL DEFAULT '',
    shared_inbox   TEXT NOT NULL DEFAULT '',
    followers_url  TEXT NOT NULL DEFAULT '',
    url            TEXT NOT NULL DEFAULT '',
    avatar_url     TEXT NOT NULL DEFAULT '',
    public_key_id  TEXT NOT NULL DEFAULT '',
    public_key_pem TEXT NOT NULL DEFAULT '',
    software       TEXT NOT NULL DEFAULT '',
    fetched_at     TIMESTAMPTZ
);
--bun:split
CREATE INDEX accounts_handle_domain ON accounts (handle, domain);
--bun:split
CREATE UNIQUE INDEX accounts_ap_id ON accounts (ap_id);
--bun:split
CREATE UNIQUE INDEX accounts_public_key_id ON accounts (public_key_id) WHERE public_key_id <> '';
--bun:split

-- One namespace for every local actor name (members, forums, reserved
-- words), so WebFinger's acct:NAME@HOST always means one actor.
CREATE TABLE local_names (
    name   TEXT PRIMARY KEY,
    kind   TEXT NOT NULL,
    ref_id BIGINT NOT NULL
);
--bun:split

CREATE TABLE forums (
    id           BIGINT PRIMARY KEY,
    slug         TEXT NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    description  TEXT NOT NULL DEFAULT '',
    position     INTEGER NOT NULL DEFAULT 0,
    thread_count BIGINT NOT NULL DEFAULT 0,
    post_count   BIGINT NOT NULL DEFAULT 0,
    last_post_id BIGINT,
    last_post_at TIMESTAMPTZ,
    created_at   TIMESTAMPTZ NOT NULL
);
--bun:split

CREATE TABLE threads (
    id            BIGINT PRIMARY KEY,
    forum_id      BIGINT NOT NULL REFERENCES forums (id),
    author_id     BIGINT NOT NULL REFERENCES accounts (id),
    title         TEXT NOT NULL,
    first_post_id BIGINT,
    post_count    BIGINT NOT NULL DEFAULT 0,
    last_post_id  BIGINT NOT NULL DEFAULT 0,
    last_post_at  TIMESTAMPTZ NOT NULL,
    pinned        BOOLEAN NOT NULL DEFAULT FALSE,
    locked        BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    deleted_at    TIMESTAMPTZ
);
--bun:split
-- Forum pages list threads pinned first, then by latest post.
CREATE INDEX threads_forum_listing ON threads (forum_id, pinned, last_post_id);
--bun:split

CREATE TABLE posts (
    id           BIGINT PRIMARY KEY,
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
    url          TEXT NOT NULL DEFAULT ''
);
--bun:split
-- A post's position in its thread is fixed at insert, so any page of any
-- thread is one index range: the last page costs what the first does.
CREATE UNIQUE INDEX posts_thread_position ON posts (thread_id, position);
--bun:split
CREATE INDEX posts_author ON posts (author_id, id);
--bun:split
CREATE UNIQUE INDEX posts_ap_id ON posts (ap_id);
--bun:split

CREATE TABLE likes (
    post_id    BIGINT NOT NULL REFERENCES posts (id),
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    ap_id      TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (post_id, account_id)
);
--bun:split
CREATE UNIQUE INDEX likes_ap_id ON likes (ap_id);
--bun:split

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX sessions_account ON sessions (account_id);
--bun:split

-- Who follows what. target_kind is 'account' (a member or a remote actor),
-- 'forum' or 'thread'; the follower is any account, local or remote.
CREATE TABLE follows (
    id          BIGINT PRIMARY KEY,
    follower_id BIGINT NOT NULL REFERENCES accounts (id),
    target_kind TEXT NOT NULL,
    target_id   BIGINT NOT NULL,
    ap_id       TEXT,
    accepted    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX follows_pair ON follows (follower_id, target_kind, target_id);
--bun:split
CREATE INDEX follows_target ON follows (target_kind, target_id, id);
--bun:split

-- RSA key pairs of local actors, made lazily: a new thread never waits
-- for key generation.
CREATE TABLE actor_keys (
    owner_kind  TEXT NOT NULL,
    owner_id    BIGINT NOT NULL,
    public_pem  TEXT NOT NULL,
    private_pem TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (owner_kind, owner_id)
);
--bun:split

-- Every local change that federates leaves an event here, written in the
-- same transaction as the change; federation turns events into activities
-- and delivery jobs.
CREATE TABLE outbox_events (
    id           BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL,
    account_id   BIGINT NOT NULL DEFAULT 0,
    post_id      BIGINT NOT NULL DEFAULT 0,
    thread_id    BIGINT NOT NULL DEFAULT 0,
    forum_id     BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ
);
--bun:split
CREATE INDEX outbox_events_pending ON outbox_events (id) WHERE processed_at IS NULL;
