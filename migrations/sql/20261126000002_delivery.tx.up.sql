-- Durable queues: activities to deliver and the jobs that carry them to
-- remote inboxes, what the node knows about remote hosts' health, and
-- inbox POSTs accepted but not yet processed. Times are TIMESTAMPTZ that
-- the application always writes in UTC through bun, so on SQLite (text)
-- they compare in time order; never write them with CURRENT_TIMESTAMP.

-- One row per activity the node sends, written in the transaction of the
-- change it announces. The body is the exact JSON that goes on the wire;
-- the key owner names the local key that signs it (storage.ActorKey).
CREATE TABLE activities (
    id             BIGINT PRIMARY KEY,
    ap_id          TEXT NOT NULL,
    actor_id       TEXT NOT NULL,
    key_owner_kind TEXT NOT NULL,
    key_owner_id   BIGINT NOT NULL,
    body           TEXT NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE UNIQUE INDEX activities_ap_id ON activities (ap_id);
--bun:split

-- One row per (activity, inbox) still to deliver; a delivered or abandoned
-- job is deleted. A claim leases a job by setting lease_until and moving
-- next_attempt_at to the same time, so the due index never returns leased
-- jobs and a job whose owner died becomes due again by itself.
CREATE TABLE deliveries (
    id              BIGINT PRIMARY KEY,
    activity_id     BIGINT NOT NULL REFERENCES activities (id),
    inbox           TEXT NOT NULL,
    host            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    lease_owner     TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    follower_id     BIGINT,
    created_at      TIMESTAMPTZ NOT NULL
);
--bun:split
-- Claims read due jobs in this order.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at);
--bun:split
-- Postponing or resuming every job of one host (unavailable, recovered).
CREATE INDEX deliveries_host ON deliveries (host, id);
--bun:split

-- Health of remote hosts the node delivers to. A host failing without a
-- break for long enough is unavailable: its jobs wait for a rare probe.
CREATE TABLE remote_hosts (
    host          TEXT PRIMARY KEY,
    failing_since TIMESTAMPTZ,
    last_success  TIMESTAMPTZ,
    unavailable   BOOLEAN NOT NULL DEFAULT FALSE,
    next_probe_at TIMESTAMPTZ
);
--bun:split

-- Inbox POSTs whose signature checked out, stored before the node answers
-- 202 and processed by workers. Done items stay a while (done_at set) as
-- a record of what arrived and what became of it.
CREATE TABLE inbox_items (
    id              BIGINT PRIMARY KEY,
    received_at     TIMESTAMPTZ NOT NULL,
    actor_id        TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    body            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    lease_owner     TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    done_at         TIMESTAMPTZ
);
--bun:split
-- Claims read pending items in this order; done items stay out of it.
CREATE INDEX inbox_items_due ON inbox_items (next_attempt_at) WHERE done_at IS NULL;
--bun:split
CREATE INDEX inbox_items_done ON inbox_items (done_at) WHERE done_at IS NOT NULL;
