-- The inbox items being applied, by actor: a claim takes no activity of
-- an actor while another of that actor's is in a worker's hands, so one
-- actor's activities are applied one at a time, in the order they
-- arrived, whichever process claims them. Only leased items are in it.
CREATE INDEX inbox_items_leased ON inbox_items (actor_id) WHERE lease_until IS NOT NULL AND done_at IS NULL;
--bun:split
-- A Delete or Undo whose object had not arrived yet (storage.Tombstone):
-- the object is refused when it comes. object_id is the Note's or the
-- activity's id, actor_id the account that withdrew it.
CREATE TABLE inbox_tombstones (
    object_id  TEXT        NOT NULL,
    actor_id   BIGINT      NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (object_id, actor_id)
);
--bun:split
CREATE INDEX inbox_tombstones_actor ON inbox_tombstones (actor_id, created_at);
--bun:split
CREATE INDEX inbox_tombstones_created ON inbox_tombstones (created_at);
