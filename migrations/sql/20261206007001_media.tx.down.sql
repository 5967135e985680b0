DROP INDEX threads_latest;
--bun:split
DROP TABLE form_tokens;
--bun:split
ALTER TABLE posts DROP COLUMN media_count;
--bun:split
DROP TABLE media_trash;
--bun:split
DROP TABLE media;
