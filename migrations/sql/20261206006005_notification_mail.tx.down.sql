DROP INDEX notifications_mail;
--bun:split
ALTER TABLE notifications DROP COLUMN mail_state;
