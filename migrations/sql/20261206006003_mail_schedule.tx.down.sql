DROP INDEX accounts_digest_due;
--bun:split
ALTER TABLE accounts DROP COLUMN digest_due_at;
--bun:split
ALTER TABLE accounts DROP COLUMN digest_hour;
--bun:split
ALTER TABLE accounts DROP COLUMN time_zone;
