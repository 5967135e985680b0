ALTER TABLE posts DROP COLUMN lead_to;
--bun:split
ALTER TABLE posts DROP COLUMN lead_from;
--bun:split
ALTER TABLE posts DROP COLUMN sensitive;
--bun:split
ALTER TABLE posts DROP COLUMN summary;
