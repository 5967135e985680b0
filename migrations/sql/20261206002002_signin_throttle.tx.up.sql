-- Failed sign-ins, per client address and per address and account
-- (storage.SignInThrottle): shared by every process on the database so N
-- processes enforce one limit. key is a SHA-256 (hex) of what it counts,
-- so no address is kept in clear; times are Unix milliseconds.
CREATE TABLE signin_throttle (
    key           TEXT    PRIMARY KEY,
    failures      INTEGER NOT NULL DEFAULT 0,
    blocked_until BIGINT  NOT NULL DEFAULT 0,
    last_at       BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX signin_throttle_last_at ON signin_throttle (last_at);
