DROP TABLE key_refetches;
