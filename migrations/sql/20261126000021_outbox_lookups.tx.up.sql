-- Lookups of the outbox processor and the remote-follow page: the Like
-- activity an unlike must undo is found through the member's last
-- like.create event of that post, and a followed remote actor's mirror
-- thread through its owner.
CREATE INDEX outbox_events_likes ON outbox_events (account_id, post_id, id) WHERE kind = 'like.create';
--bun:split
CREATE INDEX threads_remote_actor ON threads (remote_actor_id) WHERE remote_actor_id IS NOT NULL;
