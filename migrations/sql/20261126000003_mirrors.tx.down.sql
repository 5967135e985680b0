DROP INDEX threads_ap_id;
--bun:split
ALTER TABLE threads DROP COLUMN remote_actor_id;
--bun:split
ALTER TABLE threads DROP COLUMN ap_id;
--bun:split
ALTER TABLE forums DROP COLUMN hidden;
