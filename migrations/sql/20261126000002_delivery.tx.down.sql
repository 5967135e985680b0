DROP TABLE inbox_items;
--bun:split
DROP TABLE remote_hosts;
--bun:split
DROP TABLE deliveries;
--bun:split
DROP TABLE activities;
