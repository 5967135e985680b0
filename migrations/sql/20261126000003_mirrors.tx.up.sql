-- Threads that live on another server and are mirrored here because a
-- member follows them: ap_id is the remote thread's id (its context
-- collection or Group actor), remote_actor_id the remote actor that owns
-- it. Mirrors sit in a hidden forum that the home page does not list.
ALTER TABLE threads ADD COLUMN ap_id TEXT;
--bun:split
ALTER TABLE threads ADD COLUMN remote_actor_id BIGINT;
--bun:split
CREATE UNIQUE INDEX threads_ap_id ON threads (ap_id);
--bun:split
ALTER TABLE forums ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
