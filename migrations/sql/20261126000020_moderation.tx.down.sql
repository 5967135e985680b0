DROP TABLE audit_log;
--bun:split
DROP TABLE domain_allows;
--bun:split
DROP TABLE domain_blocks;
--bun:split
DROP TABLE reports;
--bun:split
ALTER TABLE outbox_events DROP COLUMN from_forum_id;
--bun:split
ALTER TABLE outbox_events DROP COLUMN report_id;
--bun:split
DROP INDEX accounts_domain;
--bun:split
ALTER TABLE accounts DROP COLUMN deleted_at;
--bun:split
ALTER TABLE accounts DROP COLUMN approval_pending;
--bun:split
ALTER TABLE accounts DROP COLUMN silenced;
