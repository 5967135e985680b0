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

// ThreadWithForum finds a thread, deleted or not, with its author and its
// forum's slug and title.
func (s *Store) ThreadWithForum(ctx context.Context, id ID) (*ThreadInForum, error) {
	t := new(ThreadInForum)
	err := s.r.NewSelect().Model(t).
		ColumnExpr("thread.*").
		ColumnExpr("f.slug AS forum_slug, f.title AS forum_title").
		Relation("Author").
		Join("JOIN forums AS f ON f.id = thread.forum_id").
		Where("thread.id = ?", id).Scan(ctx)
	if err != nil {
		return nil, notFound(err, "thread "+id.String())
	}
	return t, nil
}
