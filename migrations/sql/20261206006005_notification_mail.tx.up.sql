-- Notification mail: the mail worker looks at each notification once,
-- after a few minutes, and mails it at once, keeps it for the member's
-- daily digest, or lets it be (web only, read meanwhile, no confirmed
-- address). mail_state is '' until looked at, 'digest' while it waits for
-- the digest and 'done' after. Notifications made before this column are
-- done: nobody hears by mail of what is days old.
ALTER TABLE notifications ADD COLUMN mail_state TEXT NOT NULL DEFAULT 'done';
--bun:split
-- Queries repeat the predicate mail_state <> 'done' word for word, so
-- SQLite sees they may use this index.
CREATE INDEX notifications_mail ON notifications (mail_state, created_at) WHERE mail_state <> 'done';
