-- One row whose version moves in the transaction of every change to the
-- domain blocks, the allow list or a remote actor's suspension: each
-- process compares it with its cached copy several times a second and
-- reloads when it moved (storage.Store.DomainPolicy).
CREATE TABLE policy_version (
    id      INTEGER PRIMARY KEY,
    version BIGINT  NOT NULL
);
INSERT INTO policy_version (id, version) VALUES (1, 0);
