ALTER TABLE accounts DROP COLUMN mail_applications;
--bun:split
DROP INDEX accounts_verified_email;
--bun:split
ALTER TABLE accounts DROP COLUMN email_verified_at;
--bun:split
DROP TABLE settings;
--bun:split
DROP TABLE rate_limits;
--bun:split
DROP TABLE account_tokens;
--bun:split
DROP TABLE mail_queue;
