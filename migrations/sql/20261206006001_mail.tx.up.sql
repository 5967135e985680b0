-- Mail and account recovery: the mail queue, single-use account tokens
-- (email verification, password reset), rate limits shared by every
-- process, node-wide settings, and each member's verified address.

-- Mail waiting to go to the SMTP server, one row per message. A worker
-- leases due rows (lease_until, lease_owner) and moves next_attempt_at
-- past the lease, so the due index never returns leased rows and a row
-- whose worker died becomes due again when its lease runs out. A message
-- the server accepted is deleted; one it refused for now waits for its
-- next attempt; expires_at drops what is useless when late (a reset link
-- past its validity).
CREATE TABLE mail_queue (
    id              BIGINT PRIMARY KEY,
    account_id      BIGINT,
    to_address      TEXT NOT NULL,
    subject         TEXT NOT NULL,
    text_body       TEXT NOT NULL,
    html_body       TEXT NOT NULL,
    unsubscribe_url TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    lease_owner     TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    expires_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at);
--bun:split

-- Links sent by mail that act on an account once: the SHA-256 of the
-- token, never the token. used_at keeps a used token until it expires, so
-- a second use is told "already used" rather than "unknown".
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    purpose    TEXT NOT NULL,
    email      TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
--bun:split
CREATE INDEX account_tokens_account ON account_tokens (account_id, purpose);
--bun:split
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);
--bun:split

-- Fixed-window counters keyed by what they limit ("reset-ip:203.0.113.9"),
-- in the database so every process counts against one limit.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    hits         INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL
);
--bun:split
CREATE INDEX rate_limits_window ON rate_limits (window_start);
--bun:split

-- Node-wide settings an admin changes at run time (the site's name and
-- description) and secrets every process shares (the key that signs
-- unsubscribe links).
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
--bun:split

-- A member's address counts once verified; an address verifies on one
-- account only, whatever its case. Addresses stored before this are
-- unverified and get no mail until their member verifies them.
ALTER TABLE accounts ADD COLUMN email_verified_at TIMESTAMPTZ;
--bun:split
CREATE UNIQUE INDEX accounts_verified_email ON accounts (lower(email))
    WHERE email_verified_at IS NOT NULL AND email <> '';
--bun:split
-- Admins hear of registrations waiting for approval unless they opt out.
ALTER TABLE accounts ADD COLUMN mail_applications BOOLEAN NOT NULL DEFAULT TRUE;
