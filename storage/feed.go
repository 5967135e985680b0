package storage

import (
	"context"
	"fmt"
)

// NewestThreads lists the newest live threads of a forum (or of the whole
// node when forumID is 0), newest first, with their forums: the entries
// of the node's and the forums' feeds.
func (s *Store) NewestThreads(ctx context.Context, forumID ID, limit int) ([]ThreadInForum, error) {
	var out []ThreadInForum
	q := s.r.NewSelect().Model(&out).
		ColumnExpr("thread.*").
		ColumnExpr("f.slug AS forum_slug, f.title AS forum_title").
		Relation("Author").
		Join("JOIN forums AS f ON f.id = thread.forum_id").
		Where("thread.deleted_at IS NULL")
	if forumID != 0 {
		q = q.Where("thread.forum_id = ?", forumID)
	}
	if err := q.OrderExpr("thread.id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("newest threads: %w", err)
	}
	return out, nil
}

// PostsByID loads posts by id with their authors, keyed by id.
func (s *Store) PostsByID(ctx context.Context, ids []ID) (map[ID]*Post, error) {
	return rowsIn(ctx, s.r, "posts by id", "post.id", ids, postKey, withAuthor)
}

// LatestPosts returns a thread's newest live posts, newest first: the
// entries of the thread's feed.
func (s *Store) LatestPosts(ctx context.Context, threadID ID, limit int) ([]Post, error) {
	var out []Post
	err := s.r.NewSelect().Model(&out).Relation("Author").
		Where("post.thread_id = ? AND post.deleted_at IS NULL", threadID).
		OrderExpr("post.position DESC").Limit(int64(limit)).Scan(ctx)
	if err != nil {
		return nil, fmt.Errorf("latest posts of %s: %w", threadID, err)
	}
	return out, nil
}
