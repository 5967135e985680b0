DROP INDEX threads_remote_actor;
--bun:split
DROP INDEX outbox_events_likes;
