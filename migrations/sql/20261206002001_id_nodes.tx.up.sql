-- Node numbers of the id generator (storage.ID), leased by each process
-- that shares the database so no two make the same id. expires_at and
-- last_ms are Unix milliseconds; holder names the process for an admin.
CREATE TABLE id_nodes (
    node       INTEGER PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at BIGINT  NOT NULL,
    last_ms    BIGINT  NOT NULL DEFAULT 0
);
