DROP TABLE outbox_events;
--bun:split
DROP TABLE actor_keys;
--bun:split
DROP TABLE follows;
--bun:split
DROP TABLE sessions;
--bun:split
DROP TABLE likes;
--bun:split
DROP TABLE posts;
--bun:split
DROP TABLE threads;
--bun:split
DROP TABLE forums;
--bun:split
DROP TABLE local_names;
--bun:split
DROP TABLE accounts;
