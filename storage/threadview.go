package storage

import (
	"context"
)

// ThreadInForum is a thread with the slug and title of its forum: what a
// thread page needs for its breadcrumb, in one query.
type ThreadInForum struct {
	Thread     `bun:",extend"`
	ForumSlug  string `bun:"forum_slug"`
	ForumTitle string `bun:"forum_title"`
}

// ThreadWithForum finds a thread, deleted or not, with its forum's slug
// and title, and without its author (Author is nil): the thread page reads
// it on every visit and shows its posts' authors, not the thread's, so it
// is spared the author's columns (see ThreadByID for those).
func (s *Store) ThreadWithForum(ctx context.Context, id ID) (*ThreadInForum, error) {
	h, err := s.hotReads(ctx)
	if err != nil {
		return nil, err
	}
	out := new(ThreadInForum)
	t, err := h.queryThread(ctx, h.threadWithForum, false, []any{&out.ForumSlug, &out.ForumTitle}, id)
	if err != nil {
		return nil, notFound(err, "thread "+id.String())
	}
	out.Thread = *t
	return out, nil
}
