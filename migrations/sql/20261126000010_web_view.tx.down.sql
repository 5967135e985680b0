DROP TABLE post_search;
--bun:split
DROP INDEX threads_forum_id;
--bun:split
DROP TABLE thread_reads;
--bun:split
ALTER TABLE forums DROP COLUMN version;
--bun:split
ALTER TABLE threads DROP COLUMN version;
