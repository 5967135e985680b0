-- New posts in watched threads and new threads in watched forums notify
-- their watchers; every post looks up who muted its thread, by thread.
CREATE INDEX thread_mutes_thread ON thread_mutes (thread_id, account_id);
