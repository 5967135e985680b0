-- An actor's recent inbox items, newest first: the thread actor forwards
-- a remote author's Update or Delete of a reply in a local thread as it
-- was received (FEP-1b12), and finds it here.
CREATE INDEX inbox_items_actor ON inbox_items (actor_id, received_at);
