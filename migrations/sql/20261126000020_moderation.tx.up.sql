-- Moderation and federation policy (issue 7): reports, domain blocks and
-- the allow-list, actor-level silencing, registration approval, account
-- self-deletion and the audit log. One file for SQLite and PostgreSQL.

-- A silenced actor's threads stay out of forum lists; an account waiting
-- for approval cannot sign in; a deleted account keeps its row (and its
-- handle, so nobody can take the name over) with its data wiped.
ALTER TABLE accounts ADD COLUMN silenced BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE accounts ADD COLUMN approval_pending BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
ALTER TABLE accounts ADD COLUMN deleted_at TIMESTAMPTZ;
--bun:split
-- Remote servers known, and purging one domain's accounts.
CREATE INDEX accounts_domain ON accounts (domain, id);
--bun:split

-- Events that need more than the existing ids: the report a Flag forwards,
-- the forum a moved thread left.
ALTER TABLE outbox_events ADD COLUMN report_id BIGINT NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE outbox_events ADD COLUMN from_forum_id BIGINT NOT NULL DEFAULT 0;
--bun:split

-- A report about a post (or, from a remote Flag naming only an actor,
-- about an account). The reporter is a member or a remote actor (the
-- remote server's instance actor for most Flags).
CREATE TABLE reports (
    id                BIGINT PRIMARY KEY,
    reporter_id       BIGINT NOT NULL REFERENCES accounts (id),
    account_id        BIGINT NOT NULL REFERENCES accounts (id),
    post_id           BIGINT REFERENCES posts (id),
    reason            TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL DEFAULT 'open',
    resolution        TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMPTZ NOT NULL,
    resolved_by       BIGINT,
    resolved_at       TIMESTAMPTZ,
    remote_flag_ap_id TEXT,
    forwarded         BOOLEAN NOT NULL DEFAULT FALSE
);
--bun:split
-- The moderators' queue: reports of one status, oldest first.
CREATE INDEX reports_status ON reports (status, id);
--bun:split
CREATE INDEX reports_post ON reports (post_id);
--bun:split
CREATE INDEX reports_remote_flag ON reports (remote_flag_ap_id);
--bun:split

-- Domain blocks. silence: their threads stay out of forum lists and their
-- follows wait for approval; suspend: their requests are refused, nothing
-- is delivered to them, their content is purged.
CREATE TABLE domain_blocks (
    host          TEXT PRIMARY KEY,
    severity      TEXT NOT NULL,
    public_reason TEXT NOT NULL DEFAULT '',
    private_note  TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMPTZ NOT NULL
);
--bun:split

-- The hosts a node in allow-list mode (--federation allowlist) talks to.
CREATE TABLE domain_allows (
    host       TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);
--bun:split

-- Every moderation action, written in the action's own transaction.
-- actor_id 0 is the node's operator at the shell; target_id is text
-- because some targets are hosts.
CREATE TABLE audit_log (
    id          BIGINT PRIMARY KEY,
    actor_id    BIGINT NOT NULL DEFAULT 0,
    action      TEXT NOT NULL,
    target_kind TEXT NOT NULL DEFAULT '',
    target_id   TEXT NOT NULL DEFAULT '',
    detail      TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL
);
