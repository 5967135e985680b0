DROP TABLE notification_prefs;
--bun:split
ALTER TABLE accounts DROP COLUMN unread_notifications;
--bun:split
DROP TABLE notifications;
