DROP TABLE thread_mutes;
--bun:split
ALTER TABLE accounts DROP COLUMN auto_watch;
