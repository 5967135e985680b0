DROP TABLE inbox_tombstones;
--bun:split
DROP INDEX inbox_items_leased;
