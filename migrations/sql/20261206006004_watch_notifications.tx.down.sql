DROP INDEX thread_mutes_thread;
