ALTER TABLE inbox_items DROP COLUMN kind;
