-- When a member's mail goes out: digests at an hour of the member's day,
-- in their time zone (an IANA name such as Europe/Paris). digest_due_at
-- is the next time a digest is due; a process that sends one moves it
-- to the next day in the same transaction, so two processes never send
-- the same digest.
ALTER TABLE accounts ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC';
--bun:split
ALTER TABLE accounts ADD COLUMN digest_hour INTEGER NOT NULL DEFAULT 8;
--bun:split
ALTER TABLE accounts ADD COLUMN digest_due_at TIMESTAMPTZ;
--bun:split
CREATE INDEX accounts_digest_due ON accounts (digest_due_at) WHERE digest_due_at IS NOT NULL;
