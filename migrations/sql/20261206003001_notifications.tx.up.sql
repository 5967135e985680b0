-- Notifications: what happened to a member that they may want to know
-- (a mention, a reply to or quote of their post, a like, a new follower,
-- a boost, and later posts in watched threads and forums). Each row is
-- written in the transaction of the change that causes it.
--
-- actor_id is the local or remote account that acted; post_id and
-- thread_id are 0 when the notification is about no post (a follow).
-- read_at is NULL while unread. The unique index collapses repeats: an
-- account likes a post, unlikes and likes it again, and the author hears
-- of it once; led by post_id, it also finds a post's notifications when
-- the post is deleted or edited.
--
-- The inbox writes these rows in its batches, so on SQLite the id is an
-- INTEGER PRIMARY KEY, the table's own rowid (63-bit ids fit): one b-tree
-- fewer to write per row. This file is a Go template (see migrations.go).
CREATE TABLE notifications (
    id           {{if eq .Dialect "pg"}}BIGINT{{else}}INTEGER{{end}} PRIMARY KEY,
    recipient_id BIGINT NOT NULL REFERENCES accounts (id),
    kind         TEXT NOT NULL,
    actor_id     BIGINT NOT NULL REFERENCES accounts (id),
    post_id      BIGINT NOT NULL DEFAULT 0,
    thread_id    BIGINT NOT NULL DEFAULT 0,
    created_at   TIMESTAMPTZ NOT NULL,
    read_at      TIMESTAMPTZ
);
--bun:split
CREATE UNIQUE INDEX notifications_once ON notifications (post_id, recipient_id, kind, actor_id);
--bun:split
-- A member's notifications page, newest first.
CREATE INDEX notifications_recipient ON notifications (recipient_id, id);
--bun:split

-- Unread notifications per member, kept in the transaction that adds or
-- reads one: every page's header shows it, and the header is drawn from
-- the session's account row, so the count costs no query.
ALTER TABLE accounts ADD COLUMN unread_notifications BIGINT NOT NULL DEFAULT 0;
--bun:split

-- How a member wants each kind of notification delivered: 'web' (the
-- notifications page only), 'mail' (and a mail soon after) or 'digest'
-- (and a daily digest mail). A kind without a row has its default
-- (storage.DefaultDelivery).
CREATE TABLE notification_prefs (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    kind       TEXT NOT NULL,
    delivery   TEXT NOT NULL,
    PRIMARY KEY (account_id, kind)
);
