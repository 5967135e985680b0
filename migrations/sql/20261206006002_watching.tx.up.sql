-- Watching: a member follows the threads they start or reply to unless
-- they turn it off (auto_watch), and can mute a thread: a muted thread is
-- never followed again by posting in it, and tells them nothing.
ALTER TABLE accounts ADD COLUMN auto_watch BOOLEAN NOT NULL DEFAULT TRUE;
--bun:split
CREATE TABLE thread_mutes (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    thread_id  BIGINT NOT NULL REFERENCES threads (id),
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, thread_id)
);
