-- Content warnings: summary is the warning a post is shown collapsed
-- behind; sensitive marks a post to collapse without one (a remote post
-- flagged sensitive with no summary).
ALTER TABLE posts ADD COLUMN summary TEXT NOT NULL DEFAULT '';
--bun:split
ALTER TABLE posts ADD COLUMN sensitive BOOLEAN NOT NULL DEFAULT FALSE;
--bun:split
-- The byte range [lead_from, lead_to) of html that the forum view leaves
-- out: the mentions of the thread and of the author replied to that
-- replies from Mastodon-family servers open with. Computed when the post
-- is stored; 0, 0 leaves nothing out.
ALTER TABLE posts ADD COLUMN lead_from INTEGER NOT NULL DEFAULT 0;
--bun:split
ALTER TABLE posts ADD COLUMN lead_to INTEGER NOT NULL DEFAULT 0;
