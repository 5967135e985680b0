-- When a remote key was last fetched again because a signature failed
-- with the stored copy. Every process claims a refetch here first, so a
-- stream of bad signatures makes the node fetch a key at most once per
-- interval however many processes receive them.
CREATE TABLE key_refetches (
    key_id     TEXT PRIMARY KEY,
    claimed_at TIMESTAMPTZ NOT NULL
);
